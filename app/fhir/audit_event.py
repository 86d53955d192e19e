"""The AuditEvent resource: the codes a recorded event carries and how one reads as FHIR."""

from __future__ import annotations

import base64
from datetime import datetime
from typing import Protocol

from app.fhir.dates import fhir_instant

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
    "revoke": "U",
}
OUTCOMES = {"success": "0", "minor": "4", "serious": "8"}
AGENT_SYSTEM = {"client": "https://wnb.dev/fhir/Id/client", "user": "https://wnb.dev/fhir/Id/user"}


class RecordedEvent(Protocol):
    """What the trail keeps of one event (a stored audit record has these fields)."""

    @property
    def id(self) -> str: ...
    @property
    def type_code(self) -> str: ...
    @property
    def subtype(self) -> str: ...
    @property
    def action(self) -> str: ...
    @property
    def recorded(self) -> datetime: ...
    @property
    def outcome(self) -> str: ...
    @property
    def outcome_desc(self) -> str | None: ...
    @property
    def agent_kind(self) -> str: ...
    @property
    def agent_id(self) -> str: ...
    @property
    def agent_name(self) -> str | None: ...
    @property
    def agent_role(self) -> str | None: ...
    @property
    def query(self) -> str | None: ...


def to_fhir(r: RecordedEvent, references: list[str]) -> dict[str, object]:
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
