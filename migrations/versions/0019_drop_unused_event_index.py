"""`ix_event_service_at` dropped: no query filters coded events by the source's service code
(rules read the normalised key, in memory), so the index cost every event insert and served
nothing

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-06 02:20:00
"""

from alembic import op

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("coded_event") as batch:
        batch.drop_index("ix_event_service_at")


def downgrade() -> None:
    with op.batch_alter_table("coded_event") as batch:
        batch.create_index("ix_event_service_at", ["service_code", "event_at"], unique=False)
