"""Driver writes sent as one statement (PostgreSQL): inside a `combined` block, inserts and
updates by key that read nothing back are held and sent together as data-modifying CTEs of
one statement, where each cost its own trip through the driver and SQLAlchemy's events
(about 170 us of client CPU a statement on this machine, whatever its size). A changed
concern's row, its Flag's current row and the Flag's new version: three statements, one.

What keeps it the same as sending each alone:
- Held writes are sent before any other statement runs (a listener, carried by the service's
  engines: `block_listeners`), so nothing later reads or writes around them, and at the
  block's end.
- Each table at most once in a statement: PostgreSQL runs a statement's CTEs in no set
  order, and two of them changing one table could meet on a row or a unique key. A second
  write to a table sends what is held first.
- A statement that is itself a WITH (`insert_with_dependents`) takes what is held as CTEs
  ahead of its own when none is to a table it writes (`with_held`), and is otherwise sent
  after what is held.
SQLite, or `when` False: each write is sent as it comes."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Engine
from sqlalchemy.orm import Session

from app.store import block_listeners
from app.store.driver import on_driver

_HELD = "wnb_combined"  # connection.info key: the writes held in the open block


def guard(engine: Engine) -> None:
    """The engine carries the block's listeners from its start (`block_listeners`)."""
    block_listeners.carry(engine, _HELD, _LISTENERS)


@dataclass(frozen=True, slots=True)
class _Held:
    table: str
    statement: str  # placeholders are the driver's positional %b, never named
    params: list[Any]


@contextmanager
def combined(session: Session, when: bool = True) -> Iterator[None]:
    """Hold the block's driver writes (`write`) and send them as one statement."""
    connection = session.connection()
    # Read once: after a lost connection `connection.info` raises (the transaction must be
    # rolled back first), which would hide the disconnect that the edge answers 503. The
    # dict is the pooled connection's own, so the key is always taken out of it again.
    info = connection.info
    if not when or connection.dialect.name != "postgresql" or _HELD in info:
        yield
        return
    info[_HELD] = []
    try:
        with block_listeners.for_block(connection, _HELD, _LISTENERS):
            yield
            send_held(connection)
    finally:
        info.pop(_HELD, None)  # after a failure, what is held is rolled back too


def write(connection: Connection, table: str, statement: str, params: list[Any]) -> None:
    """Run a write that reads nothing back, or hold it for the open block's statement."""
    held: list[_Held] | None = connection.info.get(_HELD)
    if held is None or statement.startswith("WITH"):
        with on_driver(connection, statement, params, many=False) as cursor:
            cursor.execute(statement, params)
        return
    if any(h.table == table for h in held):
        send_held(connection)
    held.append(_Held(table, statement, params))


def send_held(connection: Connection) -> None:
    """Send what the open block holds, as one statement."""
    held: list[_Held] | None = connection.info.get(_HELD)
    if not held:
        return
    writes = list(held)
    held.clear()  # first: sending announces a statement, and the listener must find none
    *before, last = writes
    statement = last.statement
    if before:
        parts = ", ".join(f"w{i} AS ({h.statement})" for i, h in enumerate(before))
        statement = f"WITH {parts} {statement}"
    params = [value for h in writes for value in h.params]
    with on_driver(connection, statement, params, many=False) as cursor:
        cursor.execute(statement, params)


# A transaction's or savepoint's end fires no statement event: held writes would be lost
# with a COMMIT, or sent just before a ROLLBACK TO SAVEPOINT undid them.
_ENDINGS = ("commit", "rollback_savepoint", "release_savepoint")


def _refuse_ending(connection: Connection, *_args: Any) -> None:
    if block_listeners.open_block(connection, _HELD):
        raise RuntimeError("a transaction or savepoint ends inside a `combined` block")


def _send_held_first(
    connection: Connection, _cursor: Any, _statement: str, _params: Any, _context: Any, _many: bool
) -> None:
    if block_listeners.open_block(connection, _HELD):
        send_held(connection)


_LISTENERS: list[block_listeners.Listener] = [
    ("before_cursor_execute", _send_held_first),
    *((ending, _refuse_ending) for ending in _ENDINGS),
]


def with_held(
    connection: Connection, tables: set[str], statement: str, params: list[Any]
) -> tuple[str, list[Any]]:
    """A statement that is a WITH itself (`insert_with_dependents`) with what the open
    block holds as CTEs of its own, ahead of its parts, when none of the held writes is to
    one of `tables` (those it writes): one statement, not two. Otherwise as given, and the
    held writes are sent before it as usual."""
    held: list[_Held] | None = connection.info.get(_HELD)
    if not held or not statement.startswith("WITH ") or any(h.table in tables for h in held):
        return statement, params
    writes = list(held)
    held.clear()
    parts = ", ".join(f"w{i} AS ({h.statement})" for i, h in enumerate(writes))
    return f"WITH {parts}, {statement[5:]}", [v for h in writes for v in h.params] + params
