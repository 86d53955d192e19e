"""What each agency was told, found by flag (issue 19): `webhook_message.flag_id`, indexed,
filled from the focus ("Flag/id/_history/n") of the messages already in the outbox

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-06 02:15:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("webhook_message") as batch:
        batch.add_column(sa.Column("flag_id", sa.String(length=64), nullable=True))
    # "Flag/<id>/_history/<n>": the id is what lies between the first two slashes.
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "UPDATE webhook_message SET flag_id = split_part(focus, '/', 2) "
            "WHERE focus LIKE 'Flag/%'"
        )
    else:
        op.execute(
            "UPDATE webhook_message SET flag_id = substr(focus, 6, instr(substr(focus, 6), '/') - 1) "
            "WHERE focus LIKE 'Flag/%/%'"
        )
    op.create_index("ix_webhook_flag", "webhook_message", ["flag_id"])


def downgrade() -> None:
    op.drop_index("ix_webhook_flag", table_name="webhook_message")
    with op.batch_alter_table("webhook_message") as batch:
        batch.drop_column("flag_id")
