"""Statements SQLAlchemy cannot say, or says at a cost the hot path cannot pay (COPY, binary
arrays, prebuilt queries), run on the psycopg connection under a SQLAlchemy one: announced to
SQLAlchemy's listeners like any statement, their values converted as the column types would,
their errors raised as SQLAlchemy raises its own."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
import psycopg._queries
from sqlalchemy import Column, Connection, String
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DBAPIError, StatementError
from sqlalchemy.types import TypeEngine

# psycopg converts a statement's placeholders once and keeps the result (the 128 statements
# used last, per process) only for statements of up to 50 parameters and 4,096 bytes, so that
# an ORM's statements of unbounded shapes (a VALUES row or an IN item per value) cannot fill
# memory. The one every single write sends (its resource with its version, search values,
# identity keys and coded event: 67 parameters, 2.7 kB) was converted again on every run:
# 60-90 us of client CPU, where a kept one costs 3 (bench/RESULTS.md, 2026-12-08). Raised to
# bounds that cap the cache at about 11 MB a process. SQLAlchemy's IN lists of 51-256 items
# (searches, pages) now enter the cache too, each length a statement of its own; the hot
# statements, used on every write, stay among the 128 used last.
KEPT_PARAMETERS = 256
KEPT_BYTES = 16 * 1024


def keep_conversions() -> None:
    """Let psycopg keep the conversion of statements up to `KEPT_PARAMETERS` parameters and
    `KEPT_BYTES` bytes (its own bounds are lower; never lowered here)."""
    queries: Any = psycopg._queries
    queries.MAX_CACHED_STATEMENT_PARAMS = max(queries.MAX_CACHED_STATEMENT_PARAMS, KEPT_PARAMETERS)
    queries.MAX_CACHED_STATEMENT_LENGTH = max(queries.MAX_CACHED_STATEMENT_LENGTH, KEPT_BYTES)


def raised(connection: Connection, statement: str, exc: psycopg.Error) -> StatementError:
    """A driver error as SQLAlchemy raises its own, a lost connection marked as one (503)."""
    dbapi = connection.connection.dbapi_connection
    lost = connection.dialect.is_disconnect(exc, dbapi, None)  # type: ignore[arg-type]
    if lost:
        connection.invalidate(exc)
    return DBAPIError.instance(
        statement, None, exc, psycopg.Error, connection_invalidated=lost, dialect=connection.dialect
    )


def driver_types(columns: list[Column[Any]], dialect: Dialect) -> list[Callable[[Any], Any] | None]:
    """For each column, what turns a row's value into what the driver is given: the column
    type's own bind processing, which the driver paths otherwise skip (a JSON list column's
    list dumped to its text, a naive time refused by `UtcDateTime`, a non-boolean refused by
    `Boolean`), as `Prebuilt` does for its parameters. None: as given."""
    return [c.type.dialect_impl(dialect).bind_processor(dialect) for c in columns]


def uncut(kind: TypeEngine[Any]) -> TypeEngine[Any]:
    """`kind` without a string's length, for a cast: PostgreSQL cuts an over-long value cast
    to VARCHAR(n) short without a word, where storing it in the column refuses it, and a key
    cut short in a lookup finds the row whose key is its first n characters."""
    if isinstance(kind, String) and kind.length is not None:
        return String()
    return kind


def cast_type(column: Column[Any], connection: Connection) -> str:
    """The type a value is cast to: its column's, without a string's length (`uncut`), as
    SQLAlchemy leaves it out of its own casts."""
    return uncut(column.type).compile(dialect=connection.dialect)


@contextmanager
def on_driver(connection: Connection, statement: str, params: Any, many: bool) -> Iterator[Any]:
    """A psycopg cursor on the connection's transaction, for what SQLAlchemy cannot say (COPY,
    binary arrays). It is announced to SQLAlchemy's listeners, so whatever counts statements
    (the statement budget tests, /metrics) sees the one round trip it is; a driver error is
    raised as SQLAlchemy raises its own (IntegrityError for a unique-key race), so the unit of
    work retries it like any other statement's."""
    # A checked-out connection always has its psycopg connection; the type allows None.
    cursor = connection.connection.driver_connection.cursor()  # type: ignore[union-attr]
    connection.dispatch.before_cursor_execute(connection, cursor, statement, params, None, many)
    try:
        yield cursor
    except psycopg.Error as exc:
        raise raised(connection, statement, exc) from exc


def driver_rows(connection: Connection, statement: str, params: Any) -> list[tuple[Any, ...]]:
    """A query's rows as the driver gives them (psycopg's types, no SQLAlchemy conversion),
    announced to the listeners like every statement here."""
    with on_driver(connection, statement, params, many=False) as cursor:
        cursor.execute(statement, params)
        return list(cursor.fetchall())
