"""the nurse's case work (issue 19): people have display names; `case_owner` says which nurse
owns a child's case and when she next reviews it

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-05 15:50:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("user_account") as batch_op:
        batch_op.add_column(sa.Column("display_name", sa.String(length=200), nullable=True))
    op.create_table(
        "case_owner",
        sa.Column("child_id", sa.String(length=64), nullable=False),
        sa.Column(
            "owner",
            sa.String(length=100),
            sa.ForeignKey("user_account.username", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("next_review", sa.Date(), nullable=True),
        sa.Column("assigned_by", sa.String(length=100), nullable=False),
        sa.Column("assigned_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("child_id"),
    )
    op.create_index("ix_case_owner_owner", "case_owner", ["owner"])


def downgrade() -> None:
    op.drop_index("ix_case_owner_owner", table_name="case_owner")
    op.drop_table("case_owner")
    with op.batch_alter_table("user_account") as batch_op:
        batch_op.drop_column("display_name")
