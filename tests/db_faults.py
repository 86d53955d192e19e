"""Real database failures in the middle of a request: the connection dropped by the server
(PostgreSQL terminates the backend) or the driver failing on a statement (SQLite, which has
no server to lose). Fault injection at the driver boundary, never a mock of our own code."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Engine, create_engine, event, text


def new_resource_insert(engine: Engine) -> str:
    """How the statement storing a few new resources starts: on PostgreSQL their rows go in one
    statement with their history, search values and coded events (`insert_with_dependents`)."""
    if engine.dialect.name == "postgresql":
        return "WITH added AS (INSERT INTO resource "
    return "INSERT INTO resource "


@contextmanager
def failing_on(engine: Engine, statement_start: str, fail: Callable[[Any], None]) -> Iterator[None]:
    """Call `fail(cursor)` just before any statement starting with `statement_start` runs."""

    def before(_conn: Any, cursor: Any, statement: str, *_args: Any) -> None:
        if statement.lstrip().upper().startswith(statement_start.upper()):
            fail(cursor)

    event.listen(engine, "before_cursor_execute", before)
    try:
        yield
    finally:
        event.remove(engine, "before_cursor_execute", before)


@contextmanager
def connection_lost_on(engine: Engine, statement_start: str) -> Iterator[None]:
    """The database goes away just as `statement_start` is sent."""
    if engine.dialect.name == "postgresql":
        admin = create_engine(engine.url, isolation_level="AUTOCOMMIT")

        def terminate(cursor: Any) -> None:
            with admin.connect() as conn:
                conn.execute(
                    text("SELECT pg_terminate_backend(:pid, 5000)"),
                    {"pid": cursor.connection.info.backend_pid},
                )

        try:
            with failing_on(engine, statement_start, terminate):
                yield
        finally:
            admin.dispose()
        return

    def disk_gone(_cursor: Any) -> None:
        error = sqlite3.OperationalError("disk I/O error")
        error.sqlite_errorcode = sqlite3.SQLITE_IOERR  # as SQLite itself reports it
        raise error

    with failing_on(engine, statement_start, disk_gone):
        yield


def terminate_all_connections(engine: Engine) -> int:
    """PostgreSQL restarted under us: every pooled connection is dead. How many were cut."""
    admin = create_engine(engine.url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            return len(
                conn.execute(
                    text(
                        "SELECT pg_terminate_backend(pid, 5000) FROM pg_stat_activity "
                        "WHERE datname = current_database() AND pid <> pg_backend_pid()"
                    )
                ).all()
            )
    finally:
        admin.dispose()
