"""A use case's answer: what the caller gets and the records it disclosed, which the audit
record names. Reads, writes, nurse views and subscriptions all answer this way, so the edge
audits every one of them the same way."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Generic, Protocol, TypeVar

from app.fhir.errors import FhirError

B = TypeVar("B")


@dataclass(frozen=True)
class Answer(Generic[B]):
    body: B
    references: list[str] = field(default_factory=list)  # "Patient/1", "Flag/9", ...
    refusals: list[FhirError] = field(default_factory=list)  # 403s inside a batch, to audit


class Disclosed(Protocol):
    """A stored resource or a write's result: what an audit record names of it."""

    @property
    def type(self) -> str: ...
    @property
    def id(self) -> str: ...
    @property
    def patient_id(self) -> str | None: ...


def references_of(rows: Iterable[Disclosed]) -> list[str]:
    """Each resource and the patient it is about, once each, sorted."""
    refs: set[str] = set()
    for r in rows:
        refs.add(f"{r.type}/{r.id}")
        if r.patient_id:
            refs.add(f"Patient/{r.patient_id}")
    return sorted(refs)
