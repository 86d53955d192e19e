"""the audit chain keyed (issue 20, item 5): `audit_seal.key_id` names the key whose
HMAC-SHA256 sealed the row; NULL for rows sealed before keys existed (plain SHA-256)

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-06 10:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # A new nullable column touches no row, so the append-only triggers are not involved and
    # every seal already written keeps its hash (NULL: verified as plain SHA-256).
    op.add_column("audit_seal", sa.Column("key_id", sa.String(length=16), nullable=True))


def downgrade() -> None:
    # Keyed seals cannot be verified once their key id is gone: a downgrade is for a release
    # that never sealed with a key. A plain DROP COLUMN (SQLite 3.35+): batch mode would
    # copy the table and lose its append-only triggers.
    op.drop_column("audit_seal", "key_id")
