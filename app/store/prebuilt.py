"""Statements on the hot path, built once per database dialect.

Building a statement and running it through the ORM costs about three times the CPU of
running a prebuilt one on the connection. A list parameter is where the dialects differ: on
PostgreSQL it is one array (`column = ANY(:ids)`), so the statement's text is the same
whatever the list's length and psycopg parses and prepares it once; an expanding IN list
(SQLite) writes one placeholder per value, which a Bundle's hundreds of values make a new
text, parsed again, on every request."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Generic, TypeVar

from sqlalchemy import any_, bindparam
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import InstrumentedAttribute, Session
from sqlalchemy.sql.elements import ColumnElement

Column = InstrumentedAttribute[Any]  # a mapped column
OneOf = Callable[[Column, str], ColumnElement[bool]]
S = TypeVar("S")


def _any(column: Column, name: str) -> ColumnElement[bool]:
    return column == any_(bindparam(name, type_=ARRAY(column.type)))


def _in(column: Column, name: str) -> ColumnElement[bool]:
    return column.in_(bindparam(name, expanding=True))


class Prebuilt(Generic[S]):
    """`build(one_of)` makes the statement; `one_of(column, "name")` is the list test. Run
    it as `session.connection().execute(prebuilt.for_(session), params)`: on the connection,
    no ORM step (nothing here loads entities)."""

    def __init__(self, build: Callable[[OneOf], S]) -> None:
        self._build = build
        self._built: dict[bool, S] = {}

    def for_(self, session: Session) -> S:
        postgres = session.connection().dialect.name == "postgresql"
        statement = self._built.get(postgres)
        if statement is None:
            statement = self._built[postgres] = self._build(_any if postgres else _in)
        return statement
