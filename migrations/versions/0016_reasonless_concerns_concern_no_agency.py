"""a reviewed concern whose reasons are all gone concerns no agency (hazard H-130)

Such a concern kept the agencies of the reasons it had, so those agencies could still read
and find it, evidence and all. Reconciliation now clears them when the last reason goes;
this clears them on the concerns that lost every reason before.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-06 01:45:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Every concern row gets its reasons when raised (and migration 0013 gave every folded
    # row its rule's), so an empty list means every reason went after a review.
    op.get_bind().execute(
        sa.text(
            "UPDATE raised_flag SET agencies = '' "
            "WHERE rule_id = 'wnb-concern' AND reasons = '[]' AND agencies <> ''"
        )
    )


def downgrade() -> None:
    # Which agencies had the reasons is not kept: nothing to restore, and nothing that
    # the previous revision's code needs.
    pass
