"""Statements on the hot path, built once per database dialect.

Building a statement and running it through the ORM costs about three times the CPU of
running a prebuilt one on the connection. A list parameter is where the dialects differ: on
PostgreSQL it is one array (`column = ANY(:ids)`), so the statement's text is the same
whatever the list's length and psycopg parses and prepares it once; an expanding IN list
(SQLite) writes one placeholder per value, which a Bundle's hundreds of values make a new
text, parsed again, on every request.

On PostgreSQL a prebuilt query runs on the driver's cursor (`rows`), compiled once: SQLAlchemy's
work around each execution (parameters, cache key, result metadata) costs about 90-120 us of
CPU per statement, more than psycopg's own, on statements every write runs. Its columns are
converted by their types' own result processors, so rows hold what SQLAlchemy would give.

An array of keys (`= ANY`) is sent with at least `PLANNED_KEYS` elements, the last repeated,
where psycopg prepares statements. psycopg prepares one on its sixth run; PostgreSQL plans
the next five runs for their values, and then keeps a generic plan, made once for an array
of ten elements, only while its estimate is below the average of those five (each charged
for its planning). A group of single writes gives one to sixteen keys, mostly four or five,
so the generic plan never won and every run of every lookup was planned again: 0.1-0.3 ms of
the server's CPU each, more than most take to run (`bench/RESULTS.md`, eighth sitting). With
ten keys or more the five plans cost about what the generic one does, and with their
planning charge more, so PostgreSQL's own costing keeps it, usually: plans made for keys
PostgreSQL knows to match fewer rows than the column's average (a few children with
thousands of events skew it) can still cost less, and are then made each time, as before. The
repeats cost nothing to run: a btree scan sorts an `= ANY` array and drops its duplicates
before it looks anything up, and a row matches `= ANY` once however often its key is listed
(hazard H-170). Where nothing is prepared (behind a transaction pooler) there is nothing to
keep, and the arrays go as given: a plan made for each run should see the real keys."""

from __future__ import annotations

from collections import namedtuple
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from sqlalchemy import Connection, any_, bindparam
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import InstrumentedAttribute, Session
from sqlalchemy.sql.elements import ColumnElement

from app.store.driver import driver_rows, uncut

# PostgreSQL's guess at the length of an array it is not shown (`estimate_array_length`).
PLANNED_KEYS = 10
Column = InstrumentedAttribute[Any]  # a mapped column
OneOf = Callable[[Column, str], ColumnElement[bool]]
S = TypeVar("S")


class KeyArray(ARRAY):
    """An array of keys tested with `= ANY`: the only arrays a lookup may pad (a repeated key
    would return rows twice from an array that is joined or counted)."""

    cache_ok = True


def _any(column: Column, name: str) -> ColumnElement[bool]:
    # Cast without the column's length: an over-long key finds nothing, never the row whose
    # key is its first n characters.
    return column == any_(bindparam(name, type_=KeyArray(uncut(column.type))))


def _in(column: Column, name: str) -> ColumnElement[bool]:
    return column.in_(bindparam(name, expanding=True))


class Prebuilt(Generic[S]):
    """`build(one_of)` makes the statement; `one_of(column, "name")` is the list test. Run
    it with `rows(session, params)`: on the connection, no ORM step (nothing here loads
    entities), and on PostgreSQL on the driver."""

    def __init__(self, build: Callable[[OneOf], S]) -> None:
        self._build = build
        self._built: dict[bool, S] = {}
        self._on_driver: _OnDriver | None = None

    def rows(self, session: Session, params: Mapping[str, Any] | None = None) -> Sequence[Any]:
        """The query's rows (attributes by column name, or unpacked in column order)."""
        connection = session.connection()
        if connection.dialect.name != "postgresql":
            statement: Any = self.for_session_dialect(postgres=False)  # a Select
            return list(connection.execute(statement, dict(params or {})).all())
        on_driver = self._on_driver or self._compile(connection)
        given = {**on_driver.fixed, **(params or {})}
        if prepares(connection):
            for name in on_driver.arrays:
                if name in given:
                    given[name] = padded(given[name])
        for name, process in on_driver.binds.items():
            if name in given:
                given[name] = process(given[name])
        found = driver_rows(connection, on_driver.sql, given)
        make, convert = on_driver.row, on_driver.converted
        if not convert:
            return [make._make(r) for r in found]
        rows = []
        for r in found:
            # Only the few columns whose type converts (times, JSON lists) are touched: a
            # Bundle's facts are thousands of rows of twenty columns.
            values = list(r)
            for i, f in convert:
                values[i] = f(values[i])
            rows.append(make._make(values))
        return rows

    def _compile(self, connection: Connection) -> _OnDriver:
        dialect = connection.dialect
        statement: Any = self.for_session_dialect(postgres=True)  # a Select
        compiled = statement.compile(dialect=dialect)
        binds = {
            name: process
            for name, bind in compiled.binds.items()
            if (process := bind.type.dialect_impl(dialect).bind_processor(dialect)) is not None
        }
        columns = list(statement.selected_columns)
        arrays = tuple(n for n, b in compiled.binds.items() if isinstance(b.type, KeyArray))
        sql = str(compiled)
        for name in arrays:
            # Sent in binary: psycopg writes a text array through an escaping pass per
            # element (ten keys 13 us, a Bundle's 300 266 us; binary 7 and 44).
            sql = sql.replace(f"%({name})s", f"%({name})b")
        self._on_driver = _OnDriver(
            sql=sql,
            fixed={k: v for k, v in compiled.params.items() if v is not None},
            binds=binds,
            arrays=arrays,
            converted=[
                (i, process)
                for i, c in enumerate(columns)
                if (process := c.type.dialect_impl(dialect).result_processor(dialect, None))
                is not None
            ],
            row=namedtuple("Row", [c.key for c in columns], rename=True),
        )
        return self._on_driver

    def for_session_dialect(self, postgres: bool) -> S:
        statement = self._built.get(postgres)
        if statement is None:
            statement = self._built[postgres] = self._build(_any if postgres else _in)
        return statement


@dataclass(frozen=True)
class _OnDriver:
    """A prebuilt query compiled for psycopg: its text, its fixed parameters, the bind
    processors its types need, the columns that have a result processor, and the row type."""

    sql: str
    fixed: dict[str, Any]
    binds: dict[str, Callable[[Any], Any]]
    arrays: tuple[str, ...]  # the key arrays (`= ANY`), padded to PLANNED_KEYS
    converted: list[tuple[int, Callable[[Any], Any]]]  # (column index, result processor)
    row: Any


def prepares(connection: Connection) -> bool:
    """Whether psycopg prepares statements on this connection (not behind a pooler)."""
    driver = connection.connection.driver_connection
    return getattr(driver, "prepare_threshold", None) is not None


def padded(keys: Iterable[Any]) -> list[Any]:
    """`keys` with the last repeated up to PLANNED_KEYS (see the module's docstring); as
    given when there are enough, or none."""
    out = list(keys)
    return out + [out[-1]] * (PLANNED_KEYS - len(out)) if 0 < len(out) < PLANNED_KEYS else out
