"""Fixtures of the store's own tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import create_engine
from sqlalchemy.orm import Session


@pytest.fixture
def foreign_session(database_url: str) -> Iterator[Session]:
    """A session on an engine the service did not make (as a script's or a tool's would be):
    none of `make_engine`'s listeners. Rolled back at the end."""
    engine = create_engine(database_url, hide_parameters=True)
    try:
        with Session(engine) as s:
            yield s
            s.rollback()
    finally:
        engine.dispose()
