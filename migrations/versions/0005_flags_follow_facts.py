"""Flags follow the facts: durable reconcile marks replace per-event due checks; merged
patient records; the fingerprint of the rules last applied

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02 03:40:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "reconcile_due",
        sa.Column("patient_id", sa.String(length=64), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("patient_id"),
    )
    with op.batch_alter_table("reconcile_due", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_reconcile_due_due_at"), ["due_at"], unique=False)
    # Checks already scheduled become marks on the event's child, at the earliest time.
    op.execute(
        "INSERT INTO reconcile_due (patient_id, due_at) "
        "SELECT e.child_id, MIN(d.due_at) FROM due_check d "
        "JOIN coded_event e ON e.pk = d.event_pk GROUP BY e.child_id"
    )
    with op.batch_alter_table("due_check", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_due_check_due_at"))
    op.drop_table("due_check")

    # Families are read through family_member; a copy on every event cost a write per event
    # and a rewrite of a child's whole history whenever its family changed.
    with op.batch_alter_table("coded_event", schema=None) as batch_op:
        batch_op.drop_index("ix_event_family_at")
        batch_op.drop_column("family_id")

    op.create_table(
        "patient_alias",
        sa.Column("patient_id", sa.String(length=64), nullable=False),
        sa.Column("canonical_id", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("patient_id"),
    )
    with op.batch_alter_table("patient_alias", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_patient_alias_canonical_id"), ["canonical_id"], unique=False
        )
    with op.batch_alter_table("raised_flag", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("reviewed", sa.Boolean(), server_default=sa.text("false"), nullable=False)
        )
        batch_op.add_column(
            sa.Column(
                "age_uncertain", sa.Boolean(), server_default=sa.text("false"), nullable=False
            )
        )
    op.execute(
        "UPDATE raised_flag SET reviewed = true WHERE pk IN "
        "(SELECT flag_pk FROM flag_review WHERE by_kind <> 'system')"
    )
    op.create_table(
        "service_state",
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("value", sa.String(length=255), nullable=False),
        sa.PrimaryKeyConstraint("key"),
    )


def downgrade() -> None:
    op.drop_table("service_state")
    with op.batch_alter_table("raised_flag", schema=None) as batch_op:
        batch_op.drop_column("age_uncertain")
        batch_op.drop_column("reviewed")
    with op.batch_alter_table("patient_alias", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_patient_alias_canonical_id"))
    op.drop_table("patient_alias")
    op.create_table(
        "due_check",
        sa.Column(
            "pk",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column(
            "event_pk", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("rule_id", sa.String(length=64), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["event_pk"], ["coded_event.pk"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("pk"),
        sa.UniqueConstraint("event_pk", "rule_id", name="uq_due_check"),
    )
    with op.batch_alter_table("due_check", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_due_check_due_at"), ["due_at"], unique=False)
    with op.batch_alter_table("coded_event", schema=None) as batch_op:
        batch_op.add_column(sa.Column("family_id", sa.String(length=64), nullable=True))
        batch_op.create_index("ix_event_family_at", ["family_id", "event_at"], unique=False)
    with op.batch_alter_table("reconcile_due", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_reconcile_due_due_at"))
    op.drop_table("reconcile_due")
