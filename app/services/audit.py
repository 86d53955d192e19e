"""The audit trail: who read or changed which child's record, and who was told."""

from __future__ import annotations

import base64
import uuid
from dataclasses import dataclass, field
from datetime import datetime

import orjson
from sqlalchemy.orm import Session

from app.auth.principal import Principal
from app.fhir.dates import fhir_instant
from app.fhir.errors import FhirError
from app.fhir.numbers import whole_number
from app.fhir.search_query import DateValue, parse_date_param
from app.store import audit_repo
from app.store.models import AuditRecord

REST = ("http://terminology.hl7.org/CodeSystem/audit-event-type", "rest", "RESTful Operation")
DISCLOSURE = ("http://dicom.nema.org/resources/ontology/DCM", "110106", "Export")
ACTIONS = {
    "create": "C",
    "update": "U",
    "read": "R",
    "vread": "R",
    "history": "R",
    "search": "E",
    "transaction": "E",
    "batch": "E",
    "review": "U",
    "disclose": "R",
    "login": "E",
}
OUTCOMES = {"success": "0", "minor": "4", "serious": "8"}
AGENT_SYSTEM = {"client": "https://wnb.dev/fhir/Id/client", "user": "https://wnb.dev/fhir/Id/user"}


@dataclass
class AuditNote:
    """What a use case touched: filled by the edge from the use case's result."""

    interaction: str
    resource_type: str | None = None
    references: list[str] = field(default_factory=list)  # "Patient/1", "Appointment/9", ...
    query: str | None = None


def record(
    session: Session,
    who: Principal,
    note: AuditNote,
    now: datetime,
    outcome: str = "success",
    description: str | None = None,
) -> None:
    """Append one AuditEvent. A read by an agency is a disclosure to another organisation;
    a refusal disclosed nothing, so it is recorded as the RESTful operation it was."""
    kind = DISCLOSURE if who.role == "agency" and outcome == "success" else REST
    audit_repo.append(
        session,
        {
            "id": uuid.uuid4().hex,
            "recorded": now,
            "type_code": kind[1],
            "subtype": note.interaction,
            "action": ACTIONS.get(note.interaction, "E"),
            "outcome": OUTCOMES[outcome],
            "outcome_desc": (description or "")[:255] or None,
            "agent_kind": who.kind,
            "agent_id": who.id,
            "agent_name": who.name,
            "agent_role": who.role,
            "resource_type": note.resource_type,
            "query": note.query,
        },
        note.references,
    )


def search(session: Session, params: list[tuple[str, str]], base: str) -> bytes:
    entities: list[str] = []
    agent = subtype = type_code = None
    since = before = None
    count, offset = 50, 0
    for name, value in params:
        if name == "patient":
            entities.append(value if value.startswith("Patient/") else f"Patient/{value}")
        elif name == "entity":
            entities.append(value)
        elif name == "agent":
            agent = value
        elif name == "type" and value in (REST[1], DISCLOSURE[1]):
            type_code = value
        elif name in ("type", "subtype"):  # `type=read` is read as the interaction
            subtype = value
        elif name == "date":
            since, before = _bounds(parse_date_param(name, value), since, before)
        elif name == "_count" and whole_number(value) is not None:
            count = min(whole_number(value) or 0, 500)
        elif name == "_offset" and whole_number(value) is not None:
            offset = whole_number(value) or 0
        else:
            raise FhirError.one(
                400,
                "not-supported",
                f"Unknown AuditEvent search parameter "
                f"{name!r}; supported: patient, entity, agent, type, subtype, "
                "date, _count, _offset.",
                name,
            )
    rows = list(
        audit_repo.search(
            session,
            entities=entities,
            agent=agent,
            subtype=subtype,
            type_code=type_code,
            since=since,
            before=before,
            limit=count,
            offset=offset,
        )
    )
    refs = audit_repo.entities_of(session, [r.pk for r in rows])
    entries = [
        {
            "fullUrl": f"{base}/AuditEvent/{r.id}",
            "resource": to_fhir(r, refs[r.pk]),
            "search": {"mode": "match"},
        }
        for r in rows
    ]
    return orjson.dumps({"resourceType": "Bundle", "type": "searchset", "entry": entries})


def _bounds(
    v: DateValue, since: datetime | None, before: datetime | None
) -> tuple[datetime | None, datetime | None]:
    if v.prefix in ("ge", "gt"):
        return (v.lo if v.prefix == "ge" else v.hi), before
    if v.prefix in ("le", "lt"):
        return since, (v.hi if v.prefix == "le" else v.lo)
    return v.lo, v.hi


def to_fhir(r: AuditRecord, references: list[str]) -> dict[str, object]:
    kind = DISCLOSURE if r.type_code == DISCLOSURE[1] else REST
    entity: list[dict[str, object]] = [
        {
            "what": {"reference": ref},
            "role": {
                "system": "http://terminology.hl7.org/CodeSystem/object-role",
                "code": "1" if ref.startswith("Patient/") else "4",
                "display": "Patient" if ref.startswith("Patient/") else "Domain Resource",
            },
        }
        for ref in sorted(references)
    ]
    if r.query:
        entity.append(
            {"query": base64.b64encode(r.query.encode()).decode(), "description": "search query"}
        )
    return {
        "resourceType": "AuditEvent",
        "id": r.id,
        "type": {"system": kind[0], "code": kind[1], "display": kind[2]},
        "subtype": [{"system": "http://hl7.org/fhir/restful-interaction", "code": r.subtype}],
        "action": r.action,
        "recorded": fhir_instant(r.recorded),
        "outcome": r.outcome,
        **({"outcomeDesc": r.outcome_desc} if r.outcome_desc else {}),
        "agent": [
            {
                "who": {
                    "identifier": {"system": AGENT_SYSTEM[r.agent_kind], "value": r.agent_id},
                    "display": r.agent_name or r.agent_id,
                },
                "requestor": True,
                **({"role": [{"text": r.agent_role}]} if r.agent_role else {}),
            }
        ],
        "source": {"observer": {"display": "wnb"}},
        **({"entity": entity} if entity else {}),
    }


def refusal_text(exc: FhirError) -> str:
    """What the trail keeps of a refusal: the status, issue codes and where. Never the
    diagnostics, which may quote what the client sent (an NHS number in a duplicate
    identifier, say)."""
    where = "; ".join(
        f"{i.code} at {i.expression}" if i.expression else i.code for i in exc.issues[:5]
    )
    return f"{exc.status}: {where}"[:255]
