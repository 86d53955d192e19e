"""Organisation names (issue 19 item 5): the display a source gave an event's organisation

Organization resources are stored like any other resource (no table of their own); an
event keeps the reference's display so a code never sent as an Organization still has a name.

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-06 01:40:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("coded_event") as batch:
        batch.add_column(sa.Column("organisation_name", sa.String(length=255), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("coded_event") as batch:
        batch.drop_column("organisation_name")
