"""Many rows into one table, the fastest way each database offers: COPY on PostgreSQL for
many rows (several times faster than executemany for the hundreds of index rows a Bundle
makes), executemany for a few (COPY costs two round trips where a pipelined executemany costs
one: a single POST's handful of rows) and on SQLite. Rows are dicts keyed by column name;
values are already what the column stores."""

from __future__ import annotations

from typing import Any

import psycopg
from sqlalchemy import Table, bindparam, insert, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

COPY_FROM = 32  # rows: below this, executemany's one round trip beats COPY's two


def insert_rows(session: Session, table: Table, rows: list[dict[str, Any]]) -> None:
    if not rows:
        return
    connection = session.connection()
    given = set().union(*rows)
    if connection.dialect.name != "postgresql" or len(rows) < COPY_FROM:
        # Every row names the same columns (a missing one is NULL, as COPY would write it).
        same = [r if len(r) == len(given) else {c: r.get(c) for c in given} for r in rows]
        connection.execute(_insert(table), same)
        return
    columns = [c.name for c in table.columns if c.name in given]
    names = ", ".join(f'"{c}"' for c in columns)
    statement = f'COPY "{table.name}" ({names}) FROM STDIN'
    # A checked-out connection always has its psycopg connection; the type allows None.
    cursor = connection.connection.driver_connection.cursor()  # type: ignore[union-attr]
    # COPY bypasses SQLAlchemy's execution, so announce it: whatever counts statements
    # (the statement budget tests) sees it as the one round trip it is.
    connection.dispatch.before_cursor_execute(connection, cursor, statement, rows, None, True)
    try:
        with cursor.copy(statement) as copy:
            for row in rows:
                copy.write_row([row.get(c) for c in columns])
    except psycopg.Error as exc:
        # Raised as SQLAlchemy raises its own (IntegrityError for a unique-key race), so the
        # unit of work retries it like any other statement's.
        raise DBAPIError.instance(statement, None, exc, psycopg.Error) from exc


def insert_returning_pks(
    session: Session, table: Table, rows: list[dict[str, Any]], key: tuple[str, ...]
) -> list[int]:
    """Insert rows and return their primary keys in the order given; `key` names columns
    unique in the table (matching each pk to its row). Many rows on PostgreSQL go in one
    INSERT ... SELECT FROM unnest(one array per column): its text never changes, so psycopg
    parses and prepares it once, where a multi-row VALUES list is a new text every time."""
    if not rows:
        return []
    connection = session.connection()
    if connection.dialect.name != "postgresql" or len(rows) < COPY_FROM:
        statement = _INSERTS_RETURNING.get(table.name)
        if statement is None:
            statement = _INSERTS_RETURNING[table.name] = insert(table).returning(
                table.c.pk, sort_by_parameter_order=True
            )
        return [pk for (pk,) in connection.execute(statement, rows)]
    given = set().union(*rows)
    columns = [c for c in table.columns if c.name in given and c.name != "pk"]
    arrays = ", ".join(
        # %b: arrays sent in binary (a text array escapes every quote of every JSON body
        # with a regex, a third of a Bundle's write CPU).
        f"%b::{c.type.compile(dialect=connection.dialect)}[]" for c in columns
    )
    names = ", ".join(f'"{c.name}"' for c in columns)
    keys = ", ".join(f'"{k}"' for k in key)
    statement = (
        f'INSERT INTO "{table.name}" ({names}) SELECT * FROM unnest({arrays}) '
        f"RETURNING pk, {keys}"
    )
    params = [[row.get(c.name) for row in rows] for c in columns]
    cursor = connection.connection.driver_connection.cursor()  # type: ignore[union-attr]
    connection.dispatch.before_cursor_execute(connection, cursor, statement, params, None, False)
    try:
        cursor.execute(statement, params)
        found = {tuple(found_key): pk for pk, *found_key in cursor.fetchall()}
    except psycopg.Error as exc:
        raise DBAPIError.instance(statement, None, exc, psycopg.Error) from exc
    return [found[tuple(row[k] for k in key)] for row in rows]


_INSERTS_RETURNING: dict[str, Any] = {}


def update_rows(session: Session, table: Table, rows: list[dict[str, Any]]) -> None:
    """Update rows by primary key `pk` (every row gives the same columns) in one executemany,
    which psycopg pipelines into a single round trip."""
    if not rows:
        return
    columns = [k for k in rows[0] if k != "pk"]
    statement = (
        update(table)
        .where(table.c.pk == bindparam("_pk"))
        .values({c: bindparam(f"_{c}") for c in columns})
    )
    session.connection().execute(statement, [{f"_{k}": v for k, v in r.items()} for r in rows])


_INSERTS: dict[str, Any] = {}


def _insert(table: Table) -> Any:
    """One insert statement per table, built once (rows may name fewer columns: SQLAlchemy
    fills the rest with their defaults or NULL)."""
    statement = _INSERTS.get(table.name)
    if statement is None:
        statement = _INSERTS[table.name] = insert(table)
    return statement
