"""GET /fhir/AuditEvent: the audit trail, for admins."""

from __future__ import annotations

from fastapi import APIRouter, Request

from app.api.audited import audited
from app.api.openapi_docs import fhir_responses
from app.api.responses import FhirResponse
from app.api.state import PrincipalDep, StateDep
from app.services.access import audit

AUDIT_PARAMS = ("patient", "entity", "agent", "type", "subtype", "date", "_count", "_offset")

router = APIRouter(prefix="/fhir", default_response_class=FhirResponse)


@router.get(
    "/AuditEvent",
    tags=["AuditEvent"],
    summary="Search the audit trail (admin)",
    responses=fhir_responses(200, 400, 401, 403, 429),
    openapi_extra={
        "parameters": [
            {"name": n, "in": "query", "required": False, "schema": {"type": "string"}}
            for n in AUDIT_PARAMS
        ]
    },
)
async def search_audit(request: Request, state: StateDep, who: PrincipalDep) -> FhirResponse:
    params = list(request.query_params.multi_items())
    note = audit.AuditNote("search", "AuditEvent", query=str(request.query_params))
    # Reading the trail is itself recorded: who looked at who looked, and at which children.
    body = await audited(
        state,
        who,
        note,
        [("AuditEvent", "search")],
        lambda s: audit.search(s, params, state.fhir_base),
    )
    return FhirResponse(body)
