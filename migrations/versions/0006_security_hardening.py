"""security hardening (issue 10): sign-in failures per username and address

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
    # Lock-out moves from the account (which an attacker could keep locked) to the pair.
    with op.batch_alter_table("user_account") as batch_op:
        batch_op.drop_column("locked_until")
        batch_op.drop_column("failed_attempts")


def downgrade() -> None:
    with op.batch_alter_table("user_account") as batch_op:
        batch_op.add_column(
            sa.Column("failed_attempts", sa.Integer(), nullable=False, server_default="0")
        )
        batch_op.add_column(sa.Column("locked_until", sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table("login_failure") as batch_op:
        batch_op.drop_index(batch_op.f("ix_login_failure_last_failed_at"))
    op.drop_table("login_failure")
