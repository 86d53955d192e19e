"""Large families (admins): families above `WNB_FAMILY_ALERT_SIZE` patients have their
family-level rules held until an admin confirms them or lists the carer identifier that ties
unrelated children together in `never_link_carers` (rules/terminology.yaml)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from app.api.audited import audited
from app.api.openapi_docs import fhir_responses
from app.api.state import PrincipalDep, StateDep
from app.services.access.audit import AuditNote
from app.services.concerns import large_families

router = APIRouter(prefix="/api/families/large", tags=["families"])
NEED = ("Rule", "search")  # the partnership admin's scope, as for the rules backtest
CONFIRM = ("Rule", "update")


@router.get(
    "",
    summary="Families above the alert size: held or confirmed, and what ties each together",
    responses=fhir_responses(401, 403, 429),
)
async def list_large(state: StateDep, who: PrincipalDep) -> dict[str, Any]:
    note = AuditNote("search", None, query="families/large")
    limit = state.settings.family_alert_size
    return await audited(state, who, note, [NEED], lambda s: large_families.listing(s, limit))


@router.post(
    "/{family_id}/confirm",
    summary="Confirm a large family is one family: its family rules run again",
    responses=fhir_responses(401, 403, 404, 409, 429),
)
async def confirm(family_id: str, state: StateDep, who: PrincipalDep) -> dict[str, Any]:
    note = AuditNote("update", None, query=f"families/large/{family_id}/confirm")
    limit, now = state.settings.family_alert_size, state.clock()
    return await audited(
        state,
        who,
        note,
        [CONFIRM],
        lambda s: large_families.confirm(s, who, family_id, limit, now),
    )
