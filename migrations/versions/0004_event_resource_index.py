"""coded_event by (resource_id, resource_type): flags look their evidence up by reference

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23 16:30:00
"""

from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("coded_event", schema=None) as batch_op:
        batch_op.create_index("ix_event_resource", ["resource_id", "resource_type"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("coded_event", schema=None) as batch_op:
        batch_op.drop_index("ix_event_resource")
