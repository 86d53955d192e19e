"""How many rows an UPDATE or DELETE changed."""

from __future__ import annotations

from sqlalchemy import CursorResult, Delete, Update
from sqlalchemy.orm import Session


def rows_changed(session: Session, statement: Update | Delete) -> int:
    """Run `statement` and count the rows it changed. Session.execute types every result as a
    plain Result; without RETURNING an UPDATE or DELETE gives a CursorResult, the one kind
    that knows its row count."""
    result = session.execute(statement)
    if not isinstance(result, CursorResult):
        raise TypeError(f"{type(result).__name__} has no row count")
    return result.rowcount
