"""A read's answer: the FHIR JSON to return and the records it disclosed, for the audit."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from app.fhir.errors import FhirError
from app.store.models import Resource


@dataclass(frozen=True)
class Answer:
    body: bytes
    references: list[str] = field(default_factory=list)
    refusals: list[FhirError] = field(default_factory=list)  # 403s inside a batch, to audit


def references_of(rows: Iterable[Resource]) -> list[str]:
    refs: set[str] = set()
    for r in rows:
        refs.add(f"{r.type}/{r.id}")
        if r.patient_id:
            refs.add(f"Patient/{r.patient_id}")
    return sorted(refs)
