"""Engine and session factory."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker

from app.settings import Settings
from app.store import bulk, combined
from app.store.driver import keep_conversions

# Bound values are children's records: an error raised by the driver must never carry them
# into a traceback or a log line, so every engine is created with hide_parameters=True.
CONNECT_TIMEOUT_SECONDS = 5


def make_engine(settings: Settings) -> Engine:
    url = settings.database_url
    if url.startswith("sqlite"):
        engine = create_engine(
            url,
            connect_args={"check_same_thread": False, "timeout": 30},
            pool_size=8,
            max_overflow=8,
            hide_parameters=True,
        )
        event.listen(engine, "connect", _sqlite_pragmas)
        # pysqlite's own BEGIN handling defers the write lock; BEGIN IMMEDIATE serialises writers
        # up front so a read-then-write use case cannot fail on upgrade with SQLITE_BUSY.
        event.listen(engine, "begin", _sqlite_begin)
        return engine
    engine = create_engine(
        url,
        pool_size=settings.db_pool_size,
        max_overflow=10,
        # The connection returned last goes out first: a few connections carry the load,
        # each with the hot statements prepared and planned once (`prebuilt.py`). A queue
        # handed each unit of work the connection idle longest, so each of a process's
        # connections ran each statement unprepared five times, then on plans made for
        # each run (measured: a prepared statement lived about eight runs, all planned).
        pool_use_lifo=True,
        pool_pre_ping=True,
        # A refused or dropped connection must fail fast (503), not hold the request.
        connect_args={
            "connect_timeout": CONNECT_TIMEOUT_SECONDS,
            # None: never prepare, so a transaction-mode pooler may hand each transaction to
            # any server connection.
            **({} if settings.db_prepared_statements else {"prepare_threshold": None}),
        },
        hide_parameters=True,
    )
    event.listen(engine, "connect", _utc_session)
    keep_conversions()
    combined.guard(engine)
    bulk.guard(engine)
    return engine


def _utc_session(dbapi_conn: Any, _record: Any) -> None:
    """Every session speaks UTC, whatever the server's default zone. psycopg gives a time in
    the session's zone, and every read of a time converts it to UTC (`UtcDateTime`): from a
    named zone ("Etc/UTC", "Europe/London") that costs about 0.5 us a value, and a family's
    facts are thousands of them; from UTC it is no work at all. A SET, not a startup option:
    a pooler (PgBouncer) tracks the session's TimeZone and refuses unknown startup options."""
    dbapi_conn.execute("SET TIME ZONE 'UTC'").close()
    dbapi_conn.commit()


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    dbapi_conn.isolation_level = None  # let the "begin" listener issue BEGIN itself
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.close()


def _sqlite_begin(conn: Any) -> None:
    readonly = conn.get_execution_options().get("wnb_readonly", False)
    conn.exec_driver_sql("BEGIN" if readonly else "BEGIN IMMEDIATE")


def make_session_factory(engine: Engine, readonly: bool = False) -> sessionmaker[Session]:
    """Sessions for use cases; `readonly` ones never take SQLite's write lock."""
    bind = engine.execution_options(wnb_readonly=True) if readonly else engine
    return sessionmaker(bind, expire_on_commit=False, autoflush=False)
