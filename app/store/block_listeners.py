"""Listeners a block of driver statements needs (`combined`, `pipelined`), and where they live.

Attached to a connection and removed again around each block, a block's listeners cost 110-120
us of client CPU (SQLAlchemy rebuilds the connection's listener collections each time): a
noticeable share of a single write. The service's engines carry them from their start
(`carry`, from `make_engine`), and each acts only on a connection whose block is open
(`open_block`), about 1 us a statement. A block on any other engine (a script's, a test's,
or one made from the service's by `execution_options`, as the readers' is, which hold no
blocks) puts them on its connection for its own span (`for_block`): where the engine's own
hear it too, the second of each pair finds nothing left to do."""

from __future__ import annotations

import weakref
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Connection, Engine, event

Listener = tuple[str, Callable[..., Any]]  # (event name, function)

_CARRIED: weakref.WeakKeyDictionary[Engine, set[str]] = weakref.WeakKeyDictionary()


def carry(engine: Engine, block: str, listeners: Sequence[Listener]) -> None:
    """Put `block`'s listeners on `engine` for good, before it makes a connection."""
    for name, fn in listeners:
        event.listen(engine, name, fn)
    _CARRIED.setdefault(engine, set()).add(block)


@contextmanager
def for_block(connection: Connection, block: str, listeners: Sequence[Listener]) -> Iterator[None]:
    """The block's listeners hear `connection` while the block runs: the engine's own, or
    put on the connection for the span."""
    own = block not in _CARRIED.get(connection.engine, ())
    if own:
        for name, fn in listeners:
            event.listen(connection, name, fn)
    try:
        yield
    finally:
        if own:
            for name, fn in listeners:
                event.remove(connection, name, fn)


def open_block(connection: Connection, key: str) -> Any:
    """What the open block keeps under `key` in the connection's `info`, or None. A listener on
    the engine hears every connection: one invalidated or closed has no block open (its `info`
    would raise, hiding the error the edge answers)."""
    if connection.invalidated or connection.closed:
        return None
    return connection.info.get(key)
