"""HL7 v2 over MLLP (issue 22): a source's sending facility, and the messages received

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-05 19:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("api_client") as batch:
        batch.add_column(sa.Column("hl7_facility", sa.String(length=200), nullable=True))
        batch.create_unique_constraint("uq_api_client_hl7_facility", ["hl7_facility"])
    op.create_table(
        "hl7_message",
        sa.Column(
            "pk",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("client_id", sa.String(length=64), nullable=True),
        sa.Column("facility", sa.String(length=200), nullable=True),
        sa.Column("control_id", sa.String(length=200), nullable=True),
        sa.Column("accepted_id", sa.String(length=200), nullable=True),
        sa.Column("message_type", sa.String(length=16), nullable=True),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("raw", sa.Text(), nullable=True),
        sa.Column("ack_code", sa.String(length=2), nullable=False),
        sa.Column("ack", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("pk"),
        sa.UniqueConstraint("client_id", "accepted_id", name="uq_hl7_message_accepted"),
    )
    op.create_index("ix_hl7_message_received_at", "hl7_message", ["received_at"])
    op.create_index("ix_hl7_message_control_id", "hl7_message", ["control_id"])


def downgrade() -> None:
    op.drop_index("ix_hl7_message_control_id", table_name="hl7_message")
    op.drop_index("ix_hl7_message_received_at", table_name="hl7_message")
    op.drop_table("hl7_message")
    with op.batch_alter_table("api_client") as batch:
        batch.drop_constraint("uq_api_client_hl7_facility", type_="unique")
        batch.drop_column("hl7_facility")
