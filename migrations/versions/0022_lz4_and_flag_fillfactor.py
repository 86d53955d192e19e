"""Cheaper writes of Flags on PostgreSQL: lz4 for the wide text columns, room on
`raised_flag`'s pages for updates (issue 21)

- A concern's FHIR Flag (3-4 kB of JSON, growing with its evidence) is written twice on every
  change: its current row in `resource` and its version in `resource_version`. Past 2 kB
  PostgreSQL compresses a value before storing it, with pglz by default: 11.8 us a Flag on
  this machine against 3.5 us with lz4, for sizes within 3% of each other
  (`bench/RESULTS.md`, ninth sitting). A concern's row in `raised_flag` carries its reasons,
  which pass 2 kB as a child's history grows. Any other resource past 2 kB is compressed
  the same way. Only values written from now on are compressed with lz4; those stored stay
  readable as they are. Skipped (with a warning) on a server without lz4 (built without it,
  or before PostgreSQL 14).
- Every new miss of a child with a concern updates its `raised_flag` row. On full pages the
  new row version goes to another page, and each of the table's six indexes gets an entry
  for it. With room on the page the update is usually a heap-only tuple and no index is
  touched: new evidence changes no indexed column (a change of priority, which the worklist's
  index holds, still updates that index). Fillfactor 50 leaves room for a new version of
  each of a page's rows (two of 1.7 kB): a Bundle updates the concerns of children whose rows
  were written together. In a Bundle run 82% of the updates were heap-only at 50, 64% at 70
  and 4% at the default 100. Rows stored before keep their pages until rewritten.

Setting a column's compression takes an exclusive lock on `resource` and
`resource_version` for an instant; behind a long reader (a nightly `pg_dump`) it would queue
every request behind it, so it waits at most `LOCK_WAIT` and fails instead: run the
migration again when the reader is done.

SQLite compresses nothing and has no fillfactor: nothing to do there.

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-07 23:10:00
"""

import logging

from alembic import op

revision = "0022"
down_revision = "0021"
branch_labels = None
depends_on = None

log = logging.getLogger("alembic.runtime.migration")
LZ4_COLUMNS = (
    ("resource", "content"),
    ("resource_version", "content"),
    ("raised_flag", "reasons"),
    ("raised_flag", "evidence_events"),
)
FLAG_FILLFACTOR = 50
LOCK_WAIT = "5s"


def _has_lz4() -> bool:
    """Whether the server can compress with lz4: built with it (PostgreSQL 14 and later list
    it among `default_toast_compression`'s values only then)."""
    found = op.get_bind().exec_driver_sql(
        "SELECT 'lz4' = ANY(enumvals) FROM pg_settings WHERE name = 'default_toast_compression'"
    )
    return bool(found.scalar())


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(f"SET LOCAL lock_timeout = '{LOCK_WAIT}'")
    if _has_lz4():
        for table, column in LZ4_COLUMNS:
            op.execute(f"ALTER TABLE {table} ALTER COLUMN {column} SET COMPRESSION lz4")
    else:
        log.warning("this PostgreSQL has no lz4: wide values stay compressed with pglz")
    op.execute(f"ALTER TABLE raised_flag SET (fillfactor = {FLAG_FILLFACTOR})")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(f"SET LOCAL lock_timeout = '{LOCK_WAIT}'")
    for table, column in LZ4_COLUMNS if _has_lz4() else ():
        op.execute(f"ALTER TABLE {table} ALTER COLUMN {column} SET COMPRESSION default")
    op.execute("ALTER TABLE raised_flag RESET (fillfactor)")
