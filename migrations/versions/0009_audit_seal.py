"""the audit trail sealed apart from the write (issue 9): `audit_seal` links each AuditEvent
into the hash chain after it commits, so writers no longer take the chain's lock in turn

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02 06:50:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "audit_seal",
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("audit_pk", sa.BigInteger(), nullable=False),
        sa.Column("chain_hash", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(["audit_pk"], ["audit_event.pk"]),
        sa.PrimaryKeyConstraint("seq"),
        sa.UniqueConstraint("audit_pk", name="uq_audit_seal_audit_pk"),
    )
    # The rows already chained keep their place and hash: the hash never covered the
    # columns it was kept in.
    op.execute(
        "INSERT INTO audit_seal (seq, audit_pk, chain_hash) "
        "SELECT seq, pk, chain_hash FROM audit_event WHERE seq IS NOT NULL"
    )
    if op.get_bind().dialect.name == "postgresql":
        # wnb_append_only() is 0002's: it refuses the statement.
        op.execute(
            "CREATE TRIGGER audit_seal_append_only BEFORE UPDATE OR DELETE ON audit_seal "
            "FOR EACH ROW EXECUTE FUNCTION wnb_append_only()"
        )
        op.execute(
            "CREATE TRIGGER audit_seal_no_truncate BEFORE TRUNCATE ON audit_seal "
            "FOR EACH STATEMENT EXECUTE FUNCTION wnb_append_only()"
        )
    else:
        for event in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER audit_seal_no_{event.lower()} BEFORE {event} ON audit_seal "
                "BEGIN SELECT RAISE(ABORT, 'audit records are append-only'); END"
            )
        op.execute(
            "CREATE TRIGGER audit_seal_no_replace BEFORE INSERT ON audit_seal "
            "WHEN EXISTS (SELECT 1 FROM audit_seal WHERE seq = NEW.seq "
            "OR audit_pk = NEW.audit_pk) "
            "BEGIN SELECT RAISE(ABORT, 'audit records are append-only'); END"
        )


def downgrade() -> None:
    # The seals made since this revision are lost with the table: a downgrade leaves those
    # AuditEvents unchained (verify counts them as rows from before the chain).
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS audit_seal_append_only ON audit_seal")
        op.execute("DROP TRIGGER IF EXISTS audit_seal_no_truncate ON audit_seal")
    op.drop_table("audit_seal")
