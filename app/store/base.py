"""What every table shares: the declarative base and the column types used across the
model modules. Kept apart from the models so that each model module imports this, and only
`models.py` gathers them all (no module imports the one that imports it)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, ClassVar

import orjson
from sqlalchemy import BigInteger, DateTime, Integer, Table, Text
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.types import TypeDecorator


class UtcDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC in and out on both backends (SQLite keeps no zone of its own)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class JsonList(TypeDecorator[list[Any]]):
    """A JSON list kept as its text (as `orjson.dumps` writes it): reads return the list, and
    the stored bytes are what the column held as plain Text, so no migration."""

    impl = Text
    cache_ok = True

    def process_bind_param(self, value: list[Any] | None, dialect: Dialect) -> str | None:
        return None if value is None else json_text(value)

    def process_result_value(self, value: str | None, dialect: Dialect) -> list[Any] | None:
        return None if value is None else orjson.loads(value)


def json_text(value: list[Any]) -> str:
    """A JsonList column's stored text. Only a list: text given already would be stored as a
    JSON string of itself, so that is refused."""
    if not isinstance(value, list):
        raise TypeError(f"a JSON list column takes a list, not {type(value).__name__}")
    return orjson.dumps(value).decode()


# SQLite only autoincrements INTEGER PRIMARY KEY; PostgreSQL wants a bigint.
PK = BigInteger().with_variant(Integer(), "sqlite")


class Base(DeclarativeBase):
    # Every model here maps one Table (none maps a join or a select); saying so lets the bulk
    # writers take `Model.__table__` and read its name and columns.
    __table__: ClassVar[Table]
