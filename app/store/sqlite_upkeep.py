"""SQLite's own upkeep: its write-ahead log folded back into the database file."""

from __future__ import annotations

from sqlalchemy import Engine, text


def checkpoint(engine: Engine) -> None:
    """Without a checkpoint now and then the log grows with every write, without bound."""
    with engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA wal_checkpoint(PASSIVE)")
        conn.execute(text("PRAGMA optimize"))
