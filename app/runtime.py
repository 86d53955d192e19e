"""What a running process holds: settings, database sessions, terminology, the unit of work."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TypeVar

from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from app.fhir.errors import FhirError
from app.fhir.terminology import Terminology, load_terminology
from app.services.writes import WriteContext
from app.settings import Settings
from app.store.db import make_engine, make_session_factory

T = TypeVar("T")
WRITE_ATTEMPTS = 3


@dataclass
class AppState:
    settings: Settings
    engine: Engine
    writer: sessionmaker[Session]
    reader: sessionmaker[Session]
    terms: Terminology
    clock: Callable[[], datetime] = lambda: datetime.now(UTC)

    @property
    def fhir_base(self) -> str:
        return f"{self.settings.base_url.rstrip('/')}/fhir"

    def write_context(self) -> WriteContext:
        return WriteContext(terms=self.terms, now=self.clock(), base_url=self.fhir_base)

    def write(self, use_case: Callable[[Session], T]) -> T:
        """Run a use case in one transaction and commit it here, at the edge. A unique-key
        race with a concurrent request is retried: the second attempt sees the first's row."""
        for attempt in range(WRITE_ATTEMPTS):
            with self.writer() as session:
                try:
                    result = use_case(session)
                    session.commit()
                    return result
                except IntegrityError as exc:
                    session.rollback()
                    if attempt == WRITE_ATTEMPTS - 1:
                        raise FhirError.one(
                            409,
                            "conflict",
                            "The resource was changed by "
                            "another request at the same time; send it again.",
                        ) from exc
        raise AssertionError("unreachable")

    def read(self, use_case: Callable[[Session], T]) -> T:
        with self.reader() as session:
            return use_case(session)


def build_state(settings: Settings) -> AppState:
    engine = make_engine(settings)
    return AppState(
        settings=settings,
        engine=engine,
        writer=make_session_factory(engine),
        reader=make_session_factory(engine, readonly=True),
        terms=load_terminology(settings.rules_dir / "terminology.yaml"),
    )
