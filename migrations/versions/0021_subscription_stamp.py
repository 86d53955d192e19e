"""A stamp that changes with every change to who is notified (issue 21 item 2)

The notifier keeps the live subscriptions in memory while this stamp stays the same. Triggers,
not the application, change it: every path that changes a subscription, an agency's binding
or a client's revocation (the service, the CLI, an operator's SQL, a cascade) changes the
stamp in the same transaction, so no process keeps notifying from a list that no longer is.
The stamp is random, never a counter: a rolled-back change, or two databases, never repeat
a stamp a process may have cached.

SQLite: a later `batch_alter_table` on these tables copies them and drops their triggers;
tests/notify/test_subscription_cache.py fails if that happens.

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-06 04:20:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None

# What makes a subscription's notifications: the rows and columns the live list is read from.
SUBSCRIPTION_COLUMNS = ("id", "client_id", "status", "topic", "filters", "fhir_base")
BINDING_COLUMNS = ("client_id", "agency_type", "areas")
PG_NEW_STAMP = "gen_random_uuid()::text"
SQLITE_NEW_STAMP = "lower(hex(randomblob(16)))"


def _changed(columns: tuple[str, ...], distinct: str) -> str:
    return " OR ".join(f"OLD.{c} {distinct} NEW.{c}" for c in columns)


def upgrade() -> None:
    op.create_table(
        "subscription_version",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("stamp", sa.String(length=36), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    if op.get_bind().dialect.name == "postgresql":
        _postgresql()
    else:
        _sqlite()


def _postgresql() -> None:
    op.execute(f"INSERT INTO subscription_version (id, stamp) VALUES (1, {PG_NEW_STAMP})")
    op.execute(
        "CREATE FUNCTION wnb_new_subscription_stamp() RETURNS trigger LANGUAGE plpgsql AS "
        f"$$ BEGIN UPDATE subscription_version SET stamp = {PG_NEW_STAMP}; RETURN NULL; END $$"
    )
    run = "EXECUTE FUNCTION wnb_new_subscription_stamp()"
    for table, columns in (
        ("subscription", SUBSCRIPTION_COLUMNS),
        ("agency_binding", BINDING_COLUMNS),
    ):
        op.execute(
            f"CREATE TRIGGER {table}_stamp_rows AFTER INSERT OR DELETE ON {table} "
            f"FOR EACH STATEMENT {run}"
        )
        op.execute(
            f"CREATE TRIGGER {table}_stamp_update AFTER UPDATE ON {table} FOR EACH ROW "
            f"WHEN ({_changed(columns, 'IS DISTINCT FROM')}) {run}"
        )
    op.execute(
        f"CREATE TRIGGER api_client_stamp_rows AFTER DELETE ON api_client FOR EACH STATEMENT {run}"
    )
    op.execute(
        "CREATE TRIGGER api_client_stamp_update AFTER UPDATE ON api_client FOR EACH ROW "
        f"WHEN (OLD.revoked_at IS DISTINCT FROM NEW.revoked_at) {run}"
    )


def _sqlite() -> None:
    op.execute(f"INSERT INTO subscription_version (id, stamp) VALUES (1, {SQLITE_NEW_STAMP})")
    bump = f"BEGIN UPDATE subscription_version SET stamp = {SQLITE_NEW_STAMP}; END"
    for table, columns in (
        ("subscription", SUBSCRIPTION_COLUMNS),
        ("agency_binding", BINDING_COLUMNS),
    ):
        for event in ("INSERT", "DELETE"):
            op.execute(
                f"CREATE TRIGGER {table}_stamp_{event.lower()} AFTER {event} ON {table} {bump}"
            )
        op.execute(
            f"CREATE TRIGGER {table}_stamp_update AFTER UPDATE ON {table} "
            f"WHEN {_changed(columns, 'IS NOT')} {bump}"
        )
    op.execute(f"CREATE TRIGGER api_client_stamp_delete AFTER DELETE ON api_client {bump}")
    op.execute(
        "CREATE TRIGGER api_client_stamp_update AFTER UPDATE ON api_client "
        f"WHEN OLD.revoked_at IS NOT NEW.revoked_at {bump}"
    )


def downgrade() -> None:
    postgresql = op.get_bind().dialect.name == "postgresql"
    for table in ("subscription", "agency_binding", "api_client"):
        for name in ("stamp_rows", "stamp_insert", "stamp_delete", "stamp_update"):
            on = f" ON {table}" if postgresql else ""
            op.execute(f"DROP TRIGGER IF EXISTS {table}_{name}{on}")
    if postgresql:
        op.execute("DROP FUNCTION IF EXISTS wnb_new_subscription_stamp()")
    op.drop_table("subscription_version")
