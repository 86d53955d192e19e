"""The search parameters of GET /fhir/AuditEvent, read into one query."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from app.fhir.audit_event import DISCLOSURE, REST
from app.fhir.errors import FhirError
from app.fhir.numbers import whole_number
from app.fhir.search_query import DateValue, parse_date_param

MAX_COUNT = 500


@dataclass
class AuditQuery:
    entities: list[str] = field(default_factory=list)  # every one must be named
    agent: str | None = None
    subtype: str | None = None
    type_code: str | None = None
    since: datetime | None = None
    before: datetime | None = None
    count: int = 50
    offset: int = 0


def parse_audit_search(params: list[tuple[str, str]]) -> AuditQuery:
    q = AuditQuery()
    for name, value in params:
        if name == "patient":
            q.entities.append(value if value.startswith("Patient/") else f"Patient/{value}")
        elif name == "entity":
            q.entities.append(value)
        elif name == "agent":
            q.agent = value
        elif name == "type" and value in (REST[1], DISCLOSURE[1]):
            q.type_code = value
        elif name in ("type", "subtype"):  # `type=read` is read as the interaction
            q.subtype = value
        elif name == "date":
            q.since, q.before = _bounds(parse_date_param(name, value), q.since, q.before)
        elif name == "_count" and whole_number(value) is not None:
            q.count = min(whole_number(value) or 0, MAX_COUNT)
        elif name == "_offset" and whole_number(value) is not None:
            q.offset = whole_number(value) or 0
        else:
            raise FhirError.one(
                400,
                "not-supported",
                f"Unknown AuditEvent search parameter "
                f"{name!r}; supported: patient, entity, agent, type, subtype, "
                "date, _count, _offset.",
                name,
            )
    return q


def _bounds(
    v: DateValue, since: datetime | None, before: datetime | None
) -> tuple[datetime | None, datetime | None]:
    if v.prefix in ("ge", "gt"):
        return (v.lo if v.prefix == "ge" else v.hi), before
    if v.prefix in ("le", "lt"):
        return since, (v.hi if v.prefix == "le" else v.lo)
    return v.lo, v.hi
