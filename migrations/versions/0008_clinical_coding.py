"""clinical coding (issue 8): one coded event per Patient participant, the service key rules
compare, when an appointment was booked, how uncertain a child's age is

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02 03:40:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

# 0001 left the unique constraint on coded_event.resource_pk unnamed; this convention gives
# the SQLite copy a name to drop it by (PostgreSQL named it itself).
NAMING = {"uq": "%(table_name)s_%(column_0_name)s_key"}


def upgrade() -> None:
    with op.batch_alter_table("coded_event", naming_convention=NAMING, recreate="auto") as batch:
        batch.drop_constraint("coded_event_resource_pk_key", type_="unique")
        batch.create_unique_constraint("uq_event_resource_child", ["resource_pk", "child_id"])
        batch.add_column(sa.Column("booked_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("service_key", sa.String(length=128), nullable=True))
        batch.add_column(
            sa.Column("age_uncertain_days", sa.Integer(), nullable=False, server_default="0")
        )
    # Events coded before: the key from the stored coding (equivalences from the terminology
    # file apply to new codings only), and "first stored, never after the appointment" as the
    # booking time (as ingest decides it).
    op.execute(
        "UPDATE coded_event SET booked_at = CASE WHEN recorded_at < event_at "
        "THEN recorded_at ELSE event_at END, service_key = CASE "
        "WHEN service_code IS NULL THEN NULL ELSE "
        "lower(rtrim(trim(coalesce(service_system, '')), '/')) || '|' || lower(trim(service_code)) "
        "END"
    )


def downgrade() -> None:
    with op.batch_alter_table("coded_event", naming_convention=NAMING, recreate="auto") as batch:
        batch.drop_column("age_uncertain_days")
        batch.drop_column("service_key")
        batch.drop_column("booked_at")
        batch.drop_constraint("uq_event_resource_child", type_="unique")
        batch.create_unique_constraint("coded_event_resource_pk_key", ["resource_pk"])
