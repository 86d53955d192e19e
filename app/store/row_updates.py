"""Rows updated by primary key, the fastest way each database offers (a group's changed
concerns and their Flags' rows, events recoded)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import Connection, Table, bindparam, update
from sqlalchemy.orm import Session

from app.store import combined
from app.store.driver import cast_type, driver_types


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
    values = [list(column) for column in zip(*params, strict=True)] if arrays else params[0]
    combined.write(connection, table.name, text, values)  # held in a `combined` block


def _update_shape(
    connection: Connection, table: Table, columns: list[str], arrays: bool
) -> tuple[str, list[Callable[[Any], Any] | None]]:
    quote = connection.dialect.identifier_preparer.quote
    name = quote(table.name)
    casts = [cast_type(table.c[c], connection) for c in columns]
    convert = driver_types([table.c[c] for c in columns], connection.dialect)
    if not arrays:
        sets = ", ".join(f"{quote(c)} = %b::{t}" for c, t in zip(columns, casts, strict=True))
        return f"UPDATE {name} SET {sets} WHERE pk = %b", convert
    sets = ", ".join(f"{quote(c)} = v.{quote(c)}" for c in columns)
    names = ", ".join(quote(c) for c in [*columns, "pk"])
    source = ", ".join(f"%b::{t}[]" for t in [*casts, cast_type(table.c.pk, connection)])
    text = f"UPDATE {name} SET {sets} FROM unnest({source}) AS v({names}) WHERE {name}.pk = v.pk"
    return text, convert


# (table, several rows, *columns) -> the driver's UPDATE text and each column's conversion
_UPDATES: dict[tuple[str, ...], tuple[str, list[Callable[[Any], Any] | None]]] = {}
