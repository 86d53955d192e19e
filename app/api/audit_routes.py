"""GET /fhir/AuditEvent: the audit trail, for admins."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool

from app.api.openapi_docs import fhir_responses
from app.api.responses import FhirResponse
from app.api.security import PrincipalDep, require
from app.api.state import get_state
from app.services import audit

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
async def search_audit(request: Request, who: PrincipalDep) -> FhirResponse:
    state = get_state(request)
    params = list(request.query_params.multi_items())
    note = audit.AuditNote("search", "AuditEvent", query=str(request.query_params))
    await require(state, who, "AuditEvent", "search", note)
    # Reading the trail is itself recorded: who looked at who looked.
    body = await run_in_threadpool(
        state.audited, who, note, lambda s: audit.search(s, params, state.fhir_base), lambda _: []
    )
    return FhirResponse(body)
