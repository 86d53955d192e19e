"""security hardening (issue 10): sign-in failures per username and address; the audit
trail as a hash chain; TRUNCATE refused (PostgreSQL) and INSERT OR REPLACE refused (SQLite)

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02 03:40:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "login_failure",
        sa.Column("username", sa.String(length=100), nullable=False),
        sa.Column("address", sa.String(length=64), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("blocked_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_failed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("username", "address"),
    )
    with op.batch_alter_table("login_failure") as batch_op:
        batch_op.create_index(
            batch_op.f("ix_login_failure_last_failed_at"), ["last_failed_at"], unique=False
        )
    # Plain ADD COLUMN, not batch mode: SQLite's batch mode rebuilds the table, and the
    # append-only triggers would go with the old one.
    op.add_column("audit_event", sa.Column("seq", sa.BigInteger(), nullable=True))
    op.add_column("audit_event", sa.Column("chain_hash", sa.String(length=64), nullable=True))
    op.create_index("ix_audit_seq", "audit_event", ["seq"], unique=True)
    for table, same_row in SAME_ROW.items():
        _refuse_truncate_and_replace(table, same_row)
    # Lock-out moves from the account (which an attacker could keep locked) to the pair.
    with op.batch_alter_table("user_account") as batch_op:
        batch_op.drop_column("locked_until")
        batch_op.drop_column("failed_attempts")


# What makes an INSERT collide with a stored row (SQLite's REPLACE would delete that row
# without firing the DELETE trigger: recursive_triggers is off by default).
SAME_ROW = {
    "audit_event": "pk = NEW.pk OR id = NEW.id OR seq = NEW.seq",
    "audit_entity": "audit_pk = NEW.audit_pk AND reference = NEW.reference",
}


def _refuse_truncate_and_replace(table: str, same_row: str) -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
            "FOR EACH STATEMENT EXECUTE FUNCTION wnb_append_only()"
        )
    else:
        op.execute(
            f"CREATE TRIGGER {table}_no_replace BEFORE INSERT ON {table} "
            f"WHEN EXISTS (SELECT 1 FROM {table} WHERE {same_row}) "
            "BEGIN SELECT RAISE(ABORT, 'audit records are append-only'); END"
        )


def _drop_truncate_and_replace(table: str) -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"DROP TRIGGER IF EXISTS {table}_no_truncate ON {table}")
    else:
        op.execute(f"DROP TRIGGER IF EXISTS {table}_no_replace")


def downgrade() -> None:
    with op.batch_alter_table("user_account") as batch_op:
        batch_op.add_column(
            sa.Column("failed_attempts", sa.Integer(), nullable=False, server_default="0")
        )
        batch_op.add_column(sa.Column("locked_until", sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table("login_failure") as batch_op:
        batch_op.drop_index(batch_op.f("ix_login_failure_last_failed_at"))
    op.drop_table("login_failure")
    for table in SAME_ROW:
        _drop_truncate_and_replace(table)
    op.drop_index("ix_audit_seq", table_name="audit_event")
    op.drop_column("audit_event", "chain_hash")
    op.drop_column("audit_event", "seq")
