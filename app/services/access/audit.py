"""The audit trail: who read or changed which child's record, and who was told. The
AuditEvent resource and its search parameters are in app/fhir (audit_event, audit_search)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy.orm import Session

from app.auth.principal import Principal
from app.fhir.audit_event import ACTIONS, DISCLOSURE, OUTCOMES, REST, to_fhir
from app.fhir.audit_search import parse_audit_search
from app.fhir.errors import FhirError
from app.fhir.new_id import time_ordered_uuid
from app.services.common.answer import Answer
from app.store import audit_repo


@dataclass
class AuditNote:
    """What a use case touched: filled by the edge from the use case's result."""

    interaction: str
    resource_type: str | None = None
    references: list[str] = field(default_factory=list)  # "Patient/1", "Appointment/9", ...
    query: str | None = None
    disclosure: bool = False  # leaves the service: a printed chronology


def record(
    session: Session,
    who: Principal,
    note: AuditNote,
    now: datetime,
    outcome: str = "success",
    description: str | None = None,
) -> None:
    """Append one AuditEvent. A read by an agency is a disclosure to another organisation, and
    a printed chronology one to a meeting; a refusal disclosed nothing, so it is recorded as
    the RESTful operation it was."""
    audit_repo.append(session, _row(who, note, now, outcome, description), note.references)


def record_all(session: Session, done: list[tuple[Principal, AuditNote]], now: datetime) -> None:
    """Append the AuditEvent of each successful interaction in `done`, in that order, together
    (a group commit's writes: one statement, not one each)."""
    audit_repo.append_all(
        session, [(_row(who, note, now, "success", None), note.references) for who, note in done]
    )


def _row(
    who: Principal, note: AuditNote, now: datetime, outcome: str, description: str | None
) -> dict[str, Any]:
    disclosed = who.role == "agency" or note.disclosure
    kind = DISCLOSURE if disclosed and outcome == "success" else REST
    return {
        "id": time_ordered_uuid().hex,
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
    }


def search(session: Session, params: list[tuple[str, str]], base: str) -> Answer[bytes]:
    """The matching AuditEvents; the answer names the children they concern, so that the
    record of this search says whose trail was looked at."""
    q = parse_audit_search(params)
    rows = list(
        audit_repo.search(
            session,
            entities=q.entities,
            agent=q.agent,
            subtype=q.subtype,
            type_code=q.type_code,
            since=q.since,
            before=q.before,
            limit=q.count,
            offset=q.offset,
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
    children = sorted({ref for r in rows for ref in refs[r.pk] if ref.startswith("Patient/")})
    body = orjson.dumps({"resourceType": "Bundle", "type": "searchset", "entry": entries})
    return Answer(body, children)


def refusal_text(exc: FhirError) -> str:
    """What the trail keeps of a refusal: the status, issue codes and where. Never the
    diagnostics, which may quote what the client sent (an NHS number in a duplicate
    identifier, say)."""
    where = "; ".join(
        f"{i.code} at {i.expression}" if i.expression else i.code for i in exc.issues[:5]
    )
    return f"{exc.status}: {where}"[:255]
