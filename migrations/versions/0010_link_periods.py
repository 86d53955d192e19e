"""links follow time and the terminology (issue 17): `link_due` marks each carer or household
whose links change at a period boundary (or must be worked out again because the list of
identifiers that link no one changed); `family_confirmed` records an admin's word that a large
family is one family, so its family-level rules are no longer held

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-05 09:30:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "link_due",
        sa.Column("source", sa.String(length=120), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("source"),
    )
    op.create_index("ix_link_due_due_at", "link_due", ["due_at"])
    op.create_table(
        "family_confirmed",
        sa.Column("family_id", sa.String(length=64), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("confirmed_by", sa.String(length=120), nullable=False),
        sa.Column("confirmed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("family_id"),
    )


    with op.batch_alter_table("safeguarding_status") as batch_op:
        batch_op.add_column(
            sa.Column("start_stated", sa.Boolean(), server_default=sa.text("true"), nullable=False)
        )
    # A status stored with no start counted without bound before: from now on it counts from
    # when the service learned of it, which for the rows already kept is unknown; their
    # resource's first version is the best evidence of that moment.
    op.execute(
        "UPDATE safeguarding_status SET start_stated = false, start = ("
        "SELECT MIN(v.last_updated) FROM resource r JOIN resource_version v "
        "ON v.type = r.type AND v.id = r.id WHERE r.pk = safeguarding_status.resource_pk) "
        "WHERE start IS NULL"
    )


def downgrade() -> None:
    with op.batch_alter_table("safeguarding_status") as batch_op:
        batch_op.drop_column("start_stated")
    op.drop_table("family_confirmed")
    op.drop_index("ix_link_due_due_at", table_name="link_due")
    op.drop_table("link_due")
