"""Many rows into one table, the fastest way each database offers. PostgreSQL: one INSERT ...
VALUES for up to four rows (a single write's usual count), one INSERT ... SELECT FROM
unnest(one binary array per column) for a few more (its text never changes with the row
count, so psycopg parses and prepares it once, and it is one round trip where COPY costs two
and a pipelined executemany costs more CPU), COPY for many (a Bundle's hundreds of
index rows). New rows with rows of other tables that name them (`insert_with_dependents`): one
statement of data-modifying CTEs for a few. SQLite: executemany. Rows are dicts keyed by
column name; values are already what the column stores; a column some rows leave out is NULL
in them."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg import pq
from sqlalchemy import Connection, Engine, Table, insert
from sqlalchemy.orm import Session

from app.store import block_listeners, combined
from app.store.driver import cast_type, driver_types, on_driver, raised

COPY_FROM = 32  # rows: from here COPY's speed per row beats its second round trip
# Rows: up to here one VALUES list, whose scalars the driver dumps in about 40% of the client
# CPU of the same rows as arrays (33 against 82 us for one resource row, bench/RESULTS.md);
# its text changes with the row count, so the driver keeps one prepared statement per count.
VALUES_UP_TO = 4


def insert_rows(session: Session, table: Table, rows: list[dict[str, Any]]) -> None:
    if not rows:
        return
    connection = session.connection()
    given = set().union(*rows)
    if connection.dialect.name != "postgresql":
        same = [r if len(r) == len(given) else {c: r.get(c) for c in given} for r in rows]
        connection.execute(_insert(table), same)
    elif len(rows) < COPY_FROM or _in_pipeline(connection):  # no COPY in a pipeline
        _unnest(connection, table, rows, given, ())
    else:
        _copy(connection, table, rows, given)


@contextmanager
def pipelined(session: Session, when: bool = True) -> Iterator[None]:
    """PostgreSQL: the block's statements are sent without waiting for each answer (psycopg's
    pipeline mode) and answered together where this module reads RETURNING keys, or at the
    block's end. Writes that read nothing back then cost one round trip together, not one
    each. SQLite (in process, no round trips), or `when` False: as written. A database error
    still comes out as SQLAlchemy raises it (IntegrityError for a unique-key race), so the
    unit of work retries it like any other.

    Only writes go in a block: a query through the session would read no row (its answer has
    not come back), so any statement that returns rows is refused here, loudly. COPY cannot
    run in a pipeline, so callers pass `when` False for a batch COPY would carry (a Bundle's),
    and `insert_rows` falls back to unnest inside one."""
    connection = session.connection()
    if not when or connection.dialect.name != "postgresql" or _in_pipeline(connection):
        yield
        return
    driver = connection.connection.driver_connection
    info = connection.info  # read once, as `combined` does: it raises after a lost connection
    info[_PIPELINED] = True
    try:
        with (
            block_listeners.for_block(connection, _PIPELINED, _LISTENERS),
            driver.pipeline(),  # type: ignore[union-attr]
        ):
            yield
    except psycopg.Error as exc:  # raised at the block's end, outside any one statement
        raise raised(connection, "(pipelined statements)", exc) from exc
    finally:
        info.pop(_PIPELINED, None)


def guard(engine: Engine) -> None:
    """The engine carries the block's listener from its start (`block_listeners`)."""
    block_listeners.carry(engine, _PIPELINED, _LISTENERS)


_PIPELINED = "wnb_pipelined"  # connection.info key: a pipelined block is open

# Resources in one write that go in a pipeline: a single write's, or a group commit's (as
# many as a process's concurrent requests, 8 in the bench). Above it, a Bundle's: COPY.
PIPELINE_UP_TO = 16


def _writes_only(
    conn: Connection, _cursor: Any, statement: str, _params: Any, context: Any, _many: bool
) -> None:
    """Refuse a statement through SQLAlchemy that returns rows (this module's own driver
    statements come with no context and read their answers themselves)."""
    if context is None or not block_listeners.open_block(conn, _PIPELINED):
        return
    compiled = context.compiled
    if not (context.isinsert or context.isupdate or context.isdelete) or (
        compiled is not None and compiled.effective_returning
    ):
        raise RuntimeError(f"a statement that returns rows inside a pipeline: {statement[:60]}")


_LISTENERS: list[block_listeners.Listener] = [("before_cursor_execute", _writes_only)]


def _in_pipeline(connection: Connection) -> bool:
    driver = connection.connection.driver_connection
    status = driver.pgconn.pipeline_status  # type: ignore[union-attr]
    return bool(status != pq.PipelineStatus.OFF)


def insert_returning_pks(
    session: Session, table: Table, rows: list[dict[str, Any]], key: tuple[str, ...]
) -> list[int]:
    """Insert rows and return their primary keys in the order given; `key` names columns
    unique in the table (matching each pk to its row, whatever order they come back in)."""
    if not rows:
        return []
    connection = session.connection()
    if connection.dialect.name != "postgresql":
        statement = _INSERTS_RETURNING.get(table.name)
        if statement is None:
            statement = _INSERTS_RETURNING[table.name] = insert(table).returning(
                table.c.pk, sort_by_parameter_order=True
            )
        return [pk for (pk,) in connection.execute(statement, rows)]
    found = _unnest(connection, table, rows, set().union(*rows), key)
    by_key = {tuple(k): pk for pk, *k in found}
    return [by_key[tuple(row[k] for k in key)] for row in rows]


@dataclass(frozen=True, slots=True)
class Dependents:
    """Rows of another table written with a batch of parents (`insert_with_dependents`).
    `rows` are (the index of their parent in the batch, the row); where `parent` names a
    column, it takes the parent's primary key; where it is None, the rows need no key (a
    resource's history rows, which name it by type and id)."""

    table: Table
    rows: list[tuple[int, dict[str, Any]]]
    parent: str | None = None


def insert_with_dependents(
    session: Session,
    table: Table,
    rows: list[dict[str, Any]],
    key: tuple[str, ...],
    dependents: list[Dependents],
) -> list[int]:
    """Insert `rows` (`key` names columns unique in `table`) and the `dependents` that go
    with them; the parents' primary keys in the order given. PostgreSQL, for fewer parents
    than COPY takes: one statement, each table's insert a data-modifying CTE (the children
    join the parents' RETURNING on `key`), where each table cost a statement of its own and
    the children waited for the parents' keys to come back. Otherwise (SQLite, a Bundle's
    hundreds of rows, which COPY writes faster): one insert per table, as before."""
    if not rows:
        return []
    connection = session.connection()
    given = [d for d in dependents if d.rows]
    if connection.dialect.name != "postgresql" or len(rows) >= COPY_FROM:
        pks = insert_returning_pks(session, table, rows, key)
        for d in given:
            insert_rows(session, d.table, [_keyed(d, i, row, pks) for i, row in d.rows])
        return pks
    shape = _insert_shape(connection, table, rows, key)
    parts = [f"WITH added AS ({shape[1]})"]
    params = _params(shape, rows)
    for n, d in enumerate(given):
        child = [row for _, row in d.rows]
        columns = set().union(*child)
        if d.parent is None:
            inner = _insert_shape(connection, d.table, child, (), columns)
            parts.append(f", d{n} AS ({inner[1]})")
            params += _params(inner, child)
            continue
        values = len(d.rows) if len(d.rows) <= VALUES_UP_TO else 0
        text, convert = _dependent_text(connection, table, d, key, frozenset(columns), values)
        parts.append(f", d{n} AS ({text})")
        if values:  # scalars: the driver dumps them for a fraction of an array's cost
            params += [
                value
                for i, row in d.rows
                for value in (
                    *(rows[i][k] for k in key),
                    *(row.get(c) if to is None else to(row.get(c)) for c, to in convert),
                )
            ]
            continue
        params += [[rows[i][k] for i, _ in d.rows] for k in key]
        params += [
            [row.get(c) for _, row in d.rows]
            if to is None
            else [to(row.get(c)) for _, row in d.rows]
            for c, to in convert
        ]
    quote = connection.dialect.identifier_preparer.quote
    parts.append(" SELECT pk, " + ", ".join(f"added.{quote(k)}" for k in key) + " FROM added")
    tables = {table.name, *(d.table.name for d in given)}
    statement, params = combined.with_held(connection, tables, "".join(parts), params)
    with on_driver(connection, statement, params, many=False) as cursor:
        cursor.execute(statement, params)
        by_key = {tuple(k): pk for pk, *k in cursor.fetchall()}
    return [by_key[tuple(row[k] for k in key)] for row in rows]


def _keyed(d: Dependents, i: int, row: dict[str, Any], pks: list[int]) -> dict[str, Any]:
    return row if d.parent is None else {**row, d.parent: pks[i]}


def _dependent_text(
    connection: Connection,
    parents: Table,
    d: Dependents,
    key: tuple[str, ...],
    columns: frozenset[str],
    values: int,
) -> tuple[str, list[tuple[str, Callable[[Any], Any] | None]]]:
    """A dependent table's insert, joined to the parents' RETURNING on `key`: its text and
    the conversion of each of its own columns, in the order of the text's values (after the
    parents' key values, typed as the parents' columns). `values` rows as a VALUES list, or
    0: an array per column."""
    cache_key = (
        parents.name,
        d.table.name,
        str(d.parent),
        str(values),
        *key,
        "|",
        *sorted(columns),
    )
    found = _DEPENDENT.get(cache_key)
    if found is not None:
        return found
    quote = connection.dialect.identifier_preparer.quote
    own = [c for c in d.table.columns if c.name in columns and c.name not in ("pk", d.parent)]
    key_casts = [cast_type(parents.c[k], connection) for k in key]
    casts = key_casts + [cast_type(c, connection) for c in own]
    if values:
        one = "(" + ", ".join(f"%b::{t}" for t in casts) + ")"
        source = "(VALUES " + ", ".join([one] * values) + ")"
    else:
        source = "unnest(" + ", ".join(f"%b::{t}[]" for t in casts) + ")"
    names = [f"_k{i}" for i in range(len(key))] + [quote(c.name) for c in own]
    on = " AND ".join(f"c._k{i} = added.{quote(k)}" for i, k in enumerate(key))
    target = ", ".join([quote(str(d.parent)), *(quote(c.name) for c in own)])
    text = (
        f"INSERT INTO {quote(d.table.name)} ({target}) SELECT added.pk"
        + "".join(f", c.{quote(c.name)}" for c in own)
        + f" FROM added JOIN {source} AS c({', '.join(names)}) ON {on}"
    )
    convert = list(zip([c.name for c in own], driver_types(own, connection.dialect), strict=True))
    return _DEPENDENT.setdefault(cache_key, (text, convert))


# (parents' table, dependent table, its parent column, rows as VALUES or 0 for arrays, the
# parents' key, its columns) -> its insert's text and each column's conversion
_DEPENDENT: dict[tuple[str, ...], tuple[str, list[tuple[str, Callable[[Any], Any] | None]]]] = {}


def _unnest(
    connection: Connection,
    table: Table,
    rows: list[dict[str, Any]],
    given: set[str],
    returning: tuple[str, ...],
) -> list[tuple[Any, ...]]:
    shape = _insert_shape(connection, table, rows, returning, given)
    statement, params = shape[1], _params(shape, rows)
    if not returning:
        combined.write(connection, table.name, statement, params)  # held in a `combined` block
        return []
    with on_driver(connection, statement, params, many=False) as cursor:
        cursor.execute(statement, params)
        return list(cursor.fetchall()) if returning else []


Shape = tuple[list[str], str, list[Callable[[Any], Any] | None]]
# (table, columns given, returning, rows written as VALUES or 0 for arrays) -> the insert's
# columns, text and value conversions: built once, where compiling twenty column types cost
# about 35 us on every insert.
_SHAPES: dict[tuple[str, frozenset[str], tuple[str, ...], int], Shape] = {}


def _insert_shape(
    connection: Connection,
    table: Table,
    rows: list[dict[str, Any]],
    returning: tuple[str, ...],
    given: set[str] | None = None,
) -> Shape:
    """The insert of `rows`: one VALUES list for a few, binary arrays for more."""
    columns = frozenset(given if given is not None else set().union(*rows))
    key = (table.name, columns, returning, len(rows) if len(rows) <= VALUES_UP_TO else 0)
    return _SHAPES.get(key) or _SHAPES.setdefault(key, _shape(connection, table, *key[1:]))


def _params(shape: Shape, rows: list[dict[str, Any]]) -> list[Any]:
    """The values of `rows` for their `_insert_shape`, each converted as its column needs."""
    columns, _, convert = shape
    if len(rows) <= VALUES_UP_TO:
        # Plain values: the driver dumps a scalar for a fraction of an array's cost.
        return [
            row.get(name) if to is None else to(row.get(name))
            for row in rows
            for name, to in zip(columns, convert, strict=True)
        ]
    # %b: binary arrays (a text array escapes every quote of every JSON body with a regex).
    return [
        [row.get(name) for row in rows] if to is None else [to(row.get(name)) for row in rows]
        for name, to in zip(columns, convert, strict=True)
    ]


def _shape(
    connection: Connection,
    table: Table,
    given: frozenset[str],
    returning: tuple[str, ...],
    values: int,
) -> Shape:
    columns = [c for c in table.columns if c.name in given and c.name != "pk"]
    quote = connection.dialect.identifier_preparer.quote  # only where needed, as SQLAlchemy
    names = ", ".join(quote(c.name) for c in columns)
    types = [cast_type(c, connection) for c in columns]
    if values:
        one = "(" + ", ".join(f"%b::{t}" for t in types) + ")"
        source = "VALUES " + ", ".join([one] * values)
    else:
        source = "SELECT * FROM unnest(" + ", ".join(f"%b::{t}[]" for t in types) + ")"
    statement = f"INSERT INTO {quote(table.name)} ({names}) {source}"
    if returning:
        statement += " RETURNING pk, " + ", ".join(quote(k) for k in returning)
    return [c.name for c in columns], statement, driver_types(columns, connection.dialect)


def _copy(
    connection: Connection, table: Table, rows: list[dict[str, Any]], given: set[str]
) -> None:
    columns = [c for c in table.columns if c.name in given]
    names = [c.name for c in columns]
    quote = connection.dialect.identifier_preparer.quote
    statement = f"COPY {quote(table.name)} ({', '.join(quote(c) for c in names)}) FROM STDIN"
    types = driver_types(columns, connection.dialect)
    converted = [(c.name, to) for c, to in zip(columns, types, strict=True) if to]
    with (
        on_driver(connection, statement, rows, many=True) as cursor,
        cursor.copy(statement) as copy,
    ):
        for row in rows:
            if converted:
                row = {**row, **{n: to(row.get(n)) for n, to in converted}}
            copy.write_row([row.get(c) for c in names])


_INSERTS_RETURNING: dict[str, Any] = {}


_INSERTS: dict[str, Any] = {}


def _insert(table: Table) -> Any:
    """One insert statement per table, built once (rows may name fewer columns: SQLAlchemy
    fills the rest with their defaults or NULL)."""
    statement = _INSERTS.get(table.name)
    if statement is None:
        statement = _INSERTS[table.name] = insert(table)
    return statement
