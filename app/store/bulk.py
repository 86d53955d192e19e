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
from sqlalchemy import Column, Connection, String, Table, bindparam, event, insert, update
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DBAPIError, StatementError
from sqlalchemy.orm import Session

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
    event.listen(connection, "before_cursor_execute", _writes_only)
    try:
        with driver.pipeline():  # type: ignore[union-attr]
            yield
    except psycopg.Error as exc:  # raised at the block's end, outside any one statement
        raise _raised(connection, "(pipelined statements)", exc) from exc
    finally:
        event.remove(connection, "before_cursor_execute", _writes_only)


# Resources in one write that go in a pipeline: a single write's, or a group commit's (as
# many as a process's concurrent requests, 8 in the bench). Above it, a Bundle's: COPY.
PIPELINE_UP_TO = 16


def _writes_only(
    _conn: Connection, _cursor: Any, statement: str, _params: Any, context: Any, _many: bool
) -> None:
    """Refuse a statement through SQLAlchemy that returns rows (this module's own driver
    statements come with no context and read their answers themselves)."""
    if context is None:
        return
    compiled = context.compiled
    if not (context.isinsert or context.isupdate or context.isdelete) or (
        compiled is not None and compiled.effective_returning
    ):
        raise RuntimeError(f"a statement that returns rows inside a pipeline: {statement[:60]}")


def _raised(connection: Connection, statement: str, exc: psycopg.Error) -> StatementError:
    """A driver error as SQLAlchemy raises its own, a lost connection marked as one (503)."""
    dbapi = connection.connection.dbapi_connection
    lost = connection.dialect.is_disconnect(exc, dbapi, None)  # type: ignore[arg-type]
    if lost:
        connection.invalidate(exc)
    return DBAPIError.instance(
        statement, None, exc, psycopg.Error, connection_invalidated=lost, dialect=connection.dialect
    )


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


def insert_with_children(
    session: Session,
    table: Table,
    rows: list[dict[str, Any]],
    key: str,
    child: Table,
    columns: tuple[str, str],
    children: list[tuple[Any, Any]],
) -> None:
    """Rows into `table` and, with them, rows into `child` naming each parent's primary key:
    `children` are (the parent's `key` value, the child's own value), stored as `columns`
    (the column taking the parent's pk, the one taking the value). `key` is unique in
    `table`. PostgreSQL: one statement, whatever the number of parents, where one per
    parent cost a round trip and SQLAlchemy's work on each; SQLite: two."""
    if not rows:
        return
    connection = session.connection()
    if connection.dialect.name != "postgresql":
        pks = insert_returning_pks(session, table, rows, (key,))
        by_key = {row[key]: pk for row, pk in zip(rows, pks, strict=True)}
        insert_rows(session, child, [{columns[0]: by_key[k], columns[1]: v} for k, v in children])
        return
    shape = _insert_shape(connection, table, rows, (key,))
    text_key = (shape[1], child.name, *columns)
    text = _WITH_CHILDREN.get(text_key)
    if text is None:
        quote = connection.dialect.identifier_preparer.quote
        casts = [_cast(table.c[key], connection), _cast(child.c[columns[1]], connection)]
        text = _WITH_CHILDREN[text_key] = (
            f"WITH added AS ({shape[1]}) INSERT INTO {quote(child.name)} "
            f"({quote(columns[0])}, {quote(columns[1])}) SELECT added.pk, c.value FROM added "
            f"JOIN unnest(%b::{casts[0]}[], %b::{casts[1]}[]) AS c(parent, value) "
            f"ON c.parent = added.{quote(key)}"
        )
    params = _params(shape, rows)
    params += [[k for k, _ in children], [v for _, v in children]]
    with _driver(connection, text, params, many=False) as cursor:
        cursor.execute(text, params)


# (the parents' insert, child table, child columns) -> the statement's text
_WITH_CHILDREN: dict[tuple[str, ...], str] = {}


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
    statement = "".join(parts)
    with _driver(connection, statement, params, many=False) as cursor:
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
    key_casts = [_cast(parents.c[k], connection) for k in key]
    casts = key_casts + [_cast(c, connection) for c in own]
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
    convert = list(zip([c.name for c in own], _driver_types(own, connection.dialect), strict=True))
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
    with _driver(connection, statement, params, many=False) as cursor:
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
    types = [_cast(c, connection) for c in columns]
    if values:
        one = "(" + ", ".join(f"%b::{t}" for t in types) + ")"
        source = "VALUES " + ", ".join([one] * values)
    else:
        source = "SELECT * FROM unnest(" + ", ".join(f"%b::{t}[]" for t in types) + ")"
    statement = f"INSERT INTO {quote(table.name)} ({names}) {source}"
    if returning:
        statement += " RETURNING pk, " + ", ".join(quote(k) for k in returning)
    return [c.name for c in columns], statement, _driver_types(columns, connection.dialect)


def _copy(
    connection: Connection, table: Table, rows: list[dict[str, Any]], given: set[str]
) -> None:
    columns = [c for c in table.columns if c.name in given]
    names = [c.name for c in columns]
    quote = connection.dialect.identifier_preparer.quote
    statement = f"COPY {quote(table.name)} ({', '.join(quote(c) for c in names)}) FROM STDIN"
    types = _driver_types(columns, connection.dialect)
    converted = [(c.name, to) for c, to in zip(columns, types, strict=True) if to]
    with _driver(connection, statement, rows, many=True) as cursor, cursor.copy(statement) as copy:
        for row in rows:
            if converted:
                row = {**row, **{n: to(row.get(n)) for n, to in converted}}
            copy.write_row([row.get(c) for c in names])


def _driver_types(
    columns: list[Column[Any]], dialect: Dialect
) -> list[Callable[[Any], Any] | None]:
    """For each column, what turns a row's value into what the driver is given: the column
    type's own bind processing, which the driver paths otherwise skip (a JSON list column's
    list dumped to its text, a naive time refused by `UtcDateTime`, a non-boolean refused by
    `Boolean`), as `Prebuilt` does for its parameters. None: as given."""
    return [c.type.dialect_impl(dialect).bind_processor(dialect) for c in columns]


def _cast(column: Column[Any], connection: Connection) -> str:
    """The type a value is cast to. A string's length is left out, as SQLAlchemy leaves it
    out of its own casts: PostgreSQL cuts an over-long value cast to VARCHAR(n) short without
    a word, where storing it in the column refuses it."""
    kind = column.type
    if isinstance(kind, String) and kind.length is not None:
        kind = String()
    return kind.compile(dialect=connection.dialect)


@contextmanager
def _driver(connection: Connection, statement: str, params: Any, many: bool) -> Iterator[Any]:
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
        raise _raised(connection, statement, exc) from exc


def driver_rows(connection: Connection, statement: str, params: Any) -> list[tuple[Any, ...]]:
    """A query's rows as the driver gives them (psycopg's types, no SQLAlchemy conversion),
    announced to the listeners like every statement here."""
    with _driver(connection, statement, params, many=False) as cursor:
        cursor.execute(statement, params)
        return list(cursor.fetchall())


_INSERTS_RETURNING: dict[str, Any] = {}


def update_rows(session: Session, table: Table, rows: list[dict[str, Any]]) -> None:
    """Update rows by primary key `pk` (every row gives the same columns).
    PostgreSQL: one UPDATE ... FROM unnest(one binary array per column) for several rows, so
    the server runs one statement where an executemany ran one per row; its text is built
    once per table and columns and run on the driver, as the inserts are: SQLAlchemy's work
    around an executemany of twenty columns (a new statement's cache key, every value's bind
    processing) cost more CPU than the update's round trip. SQLite: one executemany."""
    if not rows:
        return
    connection = session.connection()
    columns = [k for k in rows[0] if k != "pk"]
    if connection.dialect.name != "postgresql":
        statement = (
            update(table)
            .where(table.c.pk == bindparam("_pk"))
            .values({c: bindparam(f"_{c}") for c in columns})
        )
        connection.execute(statement, [{f"_{k}": v for k, v in r.items()} for r in rows])
        return
    # A pk given twice: its last row, as an executemany would leave it (every row sets the
    # same columns), where UPDATE ... FROM would apply either.
    rows = list({r["pk"]: r for r in rows}.values())
    arrays = len(rows) > 1
    key = (table.name, str(arrays), *columns)
    shape = _UPDATES.get(key) or _UPDATES.setdefault(
        key, _update_shape(connection, table, columns, arrays)
    )
    text, convert = shape
    params = [
        [
            *(r[c] if to is None else to(r[c]) for c, to in zip(columns, convert, strict=True)),
            r["pk"],
        ]
        for r in rows
    ]
    if arrays:
        params = [list(column) for column in zip(*params, strict=True)]
    with _driver(connection, text, params, many=False) as cursor:
        cursor.execute(text, params if arrays else params[0])


def _update_shape(
    connection: Connection, table: Table, columns: list[str], arrays: bool
) -> tuple[str, list[Callable[[Any], Any] | None]]:
    quote = connection.dialect.identifier_preparer.quote
    name = quote(table.name)
    casts = [_cast(table.c[c], connection) for c in columns]
    convert = _driver_types([table.c[c] for c in columns], connection.dialect)
    if not arrays:
        sets = ", ".join(f"{quote(c)} = %b::{t}" for c, t in zip(columns, casts, strict=True))
        return f"UPDATE {name} SET {sets} WHERE pk = %b", convert
    sets = ", ".join(f"{quote(c)} = v.{quote(c)}" for c in columns)
    names = ", ".join(quote(c) for c in [*columns, "pk"])
    source = ", ".join(f"%b::{t}[]" for t in [*casts, _cast(table.c.pk, connection)])
    text = f"UPDATE {name} SET {sets} FROM unnest({source}) AS v({names}) WHERE {name}.pk = v.pk"
    return text, convert


# (table, several rows, *columns) -> the driver's UPDATE text and each column's conversion
_UPDATES: dict[tuple[str, ...], tuple[str, list[Callable[[Any], Any] | None]]] = {}
_INSERTS: dict[str, Any] = {}


def _insert(table: Table) -> Any:
    """One insert statement per table, built once (rows may name fewer columns: SQLAlchemy
    fills the rest with their defaults or NULL)."""
    statement = _INSERTS.get(table.name)
    if statement is None:
        statement = _INSERTS[table.name] = insert(table)
    return statement
