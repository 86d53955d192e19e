"""Case ownership in the nurse API: give a child's case, or every child of a family, to a
nurse with a next review date, and list a nurse's caseload. Audited like every other view
and change of a child's record."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request

from app.api.audited import audited
from app.api.body import read_json
from app.api.case_params import owner_request, sharing_request
from app.api.nurse_params import Id
from app.api.openapi_docs import fhir_responses
from app.api.security import require_all
from app.api.state import PrincipalDep, StateDep
from app.auth.principal import Principal
from app.auth.scopes import REVIEW
from app.runtime import AppState
from app.services.access.audit import AuditNote
from app.services.nurse import case_owner, sharing
from app.services.nurse.shapes.case import Caseload, OwnerAnswer
from app.services.nurse.shapes.chronology import SharedItem

BODY_LIMIT = 16 * 1024  # a 4,000-character note in JSON, with room to spare
router = APIRouter()


async def _give(
    request: Request,
    state: AppState,
    who: Principal,
    note: AuditNote,
    assign: case_owner.Assign,
    subject: str,
) -> OwnerAnswer:
    # Scopes before the body is read: a caller who may not review learns nothing more.
    await require_all(state, who, note, (REVIEW, "create"), ("Patient", "read"))
    given = owner_request(await read_json(request, BODY_LIMIT), who.id)
    now = state.clock()
    return await audited(state, who, note, (), lambda s: assign(s, subject, given, who, now))


@router.put(
    "/children/{patient_id}/owner",
    tags=["Nurse"],
    summary="Give a child's case to a nurse (or to nobody), with a next review date",
    description='Body `{"owner": "jsmith" | "me" | null, "next_review": "2026-12-20"}`. '
    "The owner must be a nurse or admin who can sign in (422 at `owner`). Needs the review "
    "scope; audited as a change to the child's record.",
    response_model=OwnerAnswer,
    responses=fhir_responses(400, 401, 403, 404, 422, 429),
)
async def put_child_owner(
    patient_id: Id, request: Request, state: StateDep, who: PrincipalDep
) -> OwnerAnswer:
    note = AuditNote("update", "Patient", [f"Patient/{patient_id}"])
    return await _give(request, state, who, note, case_owner.assign_child, patient_id)


@router.put(
    "/families/{family_id}/owner",
    tags=["Nurse"],
    summary="Give the case of every child of a family to a nurse (or to nobody)",
    description="The same body as for one child; every child of the family now changes hands.",
    response_model=OwnerAnswer,
    responses=fhir_responses(400, 401, 403, 404, 422, 429),
)
async def put_family_owner(
    family_id: Id, request: Request, state: StateDep, who: PrincipalDep
) -> OwnerAnswer:
    note = AuditNote("update", "Patient")
    return await _give(request, state, who, note, case_owner.assign_family, family_id)


@router.get(
    "/caseload",
    tags=["Nurse"],
    summary="A nurse's caseload: the children whose cases she owns, overdue reviews first",
    description="`owner` is a username (default: you). Needs Patient and Flag search "
    "scopes; audited with every child shown.",
    response_model=Caseload,
    responses=fhir_responses(400, 401, 403, 429),
)
async def get_caseload(
    state: StateDep,
    who: PrincipalDep,
    owner: Annotated[str | None, Query(max_length=100, pattern=r"^[^\x00]*$")] = None,
) -> Caseload:
    note = AuditNote("search", "Patient", query=f"caseload of {owner or who.id}")
    needs = [("Patient", "search"), ("Flag", "search")]
    today = state.clock().date()
    whose = owner or who.id
    return await audited(state, who, note, needs, lambda s: case_owner.caseload(s, whose, today))


@router.post(
    "/children/{patient_id}/sharing",
    tags=["Nurse"],
    summary="Record what was shared with another agency outside this service",
    description='Body `{"agency": "Health visiting team", "method": "phone", "shared_at": '
    '"2026-06-14T10:30:00Z", "note": "..."}`; 422 naming what is wrong. It appears in the '
    "child's and the family's chronology beside the webhooks each agency was sent. Needs the "
    "review scope; audited as a change to the child's record.",
    status_code=201,
    response_model=SharedItem,
    responses=fhir_responses(400, 401, 403, 404, 422, 429),
)
async def post_sharing(
    patient_id: Id, request: Request, state: StateDep, who: PrincipalDep
) -> SharedItem:
    note = AuditNote("update", "Patient", [f"Patient/{patient_id}"])
    await require_all(state, who, note, (REVIEW, "create"), ("Patient", "read"))
    given = sharing_request(await read_json(request, BODY_LIMIT))
    now = state.clock()
    return await audited(
        state, who, note, (), lambda s: sharing.record_sharing(s, patient_id, given, who, now)
    )
