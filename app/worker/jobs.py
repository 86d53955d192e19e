"""Job functions: each opens its own transaction and commits it."""

from __future__ import annotations

from sqlalchemy import text

from app.runtime import AppState


def checkpoint_sqlite(state: AppState) -> None:
    """Fold the SQLite write-ahead log back into the database so it cannot grow unbounded."""
    with state.engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA wal_checkpoint(PASSIVE)")
        conn.execute(text("PRAGMA optimize"))
