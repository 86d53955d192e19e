"""GET /fhir/CodeSystem: the code systems the service writes (outcome categories, safeguarding
statuses, trigger rules), so a receiver can look up what a code on an event or Flag means.

Access: any authenticated caller, no scope and no audit record. The resources hold no patient
data, and every receiver of a Flag (an agency holds only Flag.rs and Patient.r) must be able to
decode its rule code, so no scope is asked for. They are not open like /fhir/metadata because
the rule system spells out the partnership's exact thresholds (local policy, of no use to
anyone without a token) and because signing in puts the calls under the per-caller rate limit.
"""

from __future__ import annotations

from enum import Enum
from typing import Any

import orjson
from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool

from app.api.openapi_docs import fhir_responses
from app.api.responses import FhirResponse
from app.api.state import PrincipalDep, StateDep
from app.fhir.codesystems import SEARCH_PARAMS, code_systems, search_bundle
from app.fhir.errors import FhirError
from app.rules import load_rules
from app.runtime import AppState

router = APIRouter(prefix="/fhir", default_response_class=FhirResponse)
TAGS: list[str | Enum] = ["CodeSystem"]  # as FastAPI types them: a list of names or Enums


def _systems(state: AppState) -> list[dict[str, Any]]:
    # With rules switched off the codes on flags raised earlier still need a meaning: read the
    # rule files (small, and only in that configuration) rather than publish an empty system.
    rules = state.rules if state.rules is not None else load_rules(state.settings.rules_dir)
    return code_systems(state.terms, rules.rules)


@router.get(
    "/CodeSystem",
    tags=TAGS,
    summary="Search the service's code systems (url, _id, name)",
    responses=fhir_responses(200, 400, 401, 429),
    openapi_extra={
        "parameters": [
            {"name": n, "in": "query", "required": False, "schema": {"type": "string"}}
            for n in SEARCH_PARAMS
        ]
    },
)
async def search_code_systems(request: Request, state: StateDep, _: PrincipalDep) -> FhirResponse:
    systems = await run_in_threadpool(_systems, state)
    params = list(request.query_params.multi_items())
    return FhirResponse(orjson.dumps(search_bundle(systems, params, state.fhir_base)))


@router.get(
    "/CodeSystem/{rid}",
    tags=TAGS,
    summary="Read a code system: outcome-category, safeguarding-status or wnb-rule",
    responses=fhir_responses(200, 401, 404, 429),
)
async def read_code_system(rid: str, state: StateDep, _: PrincipalDep) -> FhirResponse:
    systems = await run_in_threadpool(_systems, state)
    for system in systems:
        if system["id"] == rid:
            return FhirResponse(orjson.dumps(system))
    known = ", ".join(s["id"] for s in systems)
    raise FhirError.one(404, "not-found", f"No CodeSystem {rid!r}; this server has {known}.")
