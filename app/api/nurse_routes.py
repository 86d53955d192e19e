"""The nurse API (JSON, not FHIR): the worklist of raised flags, one flag in detail,
reviewing a flag, and finding a child. Every read is audited with the children it disclosed."""

from __future__ import annotations

from dataclasses import replace
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel

from app.api.audited import audited
from app.api.body import read_json
from app.api.case_routes import router as case_router
from app.api.chronology_routes import router as chronology_router
from app.api.nurse_params import (
    FamilyReviewRequest,
    Id,
    ReviewRequest,
    family_review_input,
    review_input,
    worklist_query,
)
from app.api.openapi_docs import fhir_responses
from app.api.security import require_all
from app.api.state import PrincipalDep, StateDep
from app.auth.principal import Principal
from app.auth.scopes import REVIEW
from app.runtime import AppState
from app.services.access.audit import AuditNote
from app.services.nurse import child_search
from app.services.nurse.family_review import review_family
from app.services.nurse.flag_view import flag_view
from app.services.nurse.review import review_flag
from app.services.nurse.shapes.concern import FamilyReviewResult, FlagDetail, FlagWithReviews
from app.services.nurse.shapes.search import ChildSearch
from app.services.nurse.shapes.worklist import WorklistPage
from app.services.nurse.worklist import WorklistQuery, worklist

REVIEW_BODY_LIMIT = 16 * 1024  # a 4,000-character note in JSON, with room to spare

router = APIRouter(prefix="/api")


def json_request(model: type[BaseModel]) -> dict[str, Any]:
    """The OpenAPI request body of a route that reads its JSON itself (after its scopes)."""
    schema = model.model_json_schema()
    return {"requestBody": {"required": True, "content": {"application/json": {"schema": schema}}}}


router.include_router(chronology_router)
router.include_router(case_router)


@router.get(
    "/worklist",
    tags=["Nurse"],
    summary="Worklist: one row per family, its children's concerns; filter, sort, page, counts",
    description="One row per family (a child with no family is a family of one) with its "
    "children's concerns that match the filters; concerns not yet closed (state=all) by "
    "default. Rows: the highest priority first, then families with a child on a plan, looked "
    "after or in need, then with an infant, then the longest waiting. `total` counts the "
    "families, `counts` the matching concerns, `items` is one page of families, `next` the "
    "next page. Needs Flag and Patient search scopes; audited with every child on the page.",
    response_model=WorklistPage,
    responses=fhir_responses(400, 401, 403, 429),
)
async def get_worklist(
    request: Request,
    state: StateDep,
    who: PrincipalDep,
    q: Annotated[WorklistQuery, Depends(worklist_query)],
) -> WorklistPage:
    note = AuditNote("search", "Flag", query=str(request.query_params))
    needs = [("Flag", "search"), ("Patient", "search")]
    now = state.clock()
    if q.owner == "me":
        q = replace(q, owner=who.id)
    return await audited(state, who, note, needs, lambda s: worklist(s, q, now))


@router.get(
    "/flags/{flag_id}",
    tags=["Nurse"],
    summary="One raised flag with its reviews and the evidence in detail",
    description="Needs Flag, Patient and Appointment read scopes; audited with the child "
    "and every patient whose appointment is part of the evidence.",
    response_model=FlagDetail,
    responses=fhir_responses(400, 401, 403, 404, 429),
)
async def get_flag(flag_id: Id, state: StateDep, who: PrincipalDep) -> FlagDetail:
    note = AuditNote("read", "Flag", [f"Flag/{flag_id}"])
    needs = [("Flag", "read"), ("Patient", "read"), ("Appointment", "read")]
    now = state.clock()
    return await audited(state, who, note, needs, lambda s: flag_view(s, flag_id, now))


@router.post(
    "/flags/{flag_id}/review",
    tags=["Nurse"],
    summary="Review a flag: acknowledge, note, record an outcome, close",
    description="Appends a review (who, when, what, why) and, when the flag changed, writes "
    "a new version of its FHIR Flag (closing: status inactive, period.end). "
    "409 when the flag is already closed (a note may still be added) or acknowledged; "
    "422 when the body breaks a rule (an outcome without action outcome or close, a note "
    "action without a note, closing a high-priority concern without an outcome and a note). "
    "Needs FlagReview create (`system/FlagReview.c`), Flag read and "
    "Patient read scopes; audited.",
    response_model=FlagWithReviews,
    responses=fhir_responses(400, 401, 403, 404, 409, 413, 415, 422, 429),
    openapi_extra=json_request(ReviewRequest),
)
async def post_review(
    flag_id: Id, request: Request, state: StateDep, who: PrincipalDep
) -> FlagWithReviews:
    note = AuditNote("review", "Flag", [f"Flag/{flag_id}"])
    given = review_input(await review_body(request, state, who, note))
    ctx = state.write_context()
    return await audited(
        state, who, note, (), lambda s: review_flag(s, flag_id, given, who, ctx), ctx
    )


@router.post(
    "/families/{family_id}/review",
    tags=["Nurse"],
    summary="Review a family at once: the same review of each chosen child's concern",
    description="Applies one review (acknowledge, note, outcome, close) to the open concern "
    "of each child in `children`, each recorded per concern as a single review is, in one "
    "transaction under one audit record naming every child and Flag. Everything is checked "
    "first: a child not in the family (422), with no open concern (409), or a review wrong "
    "for one concern (409, 422) changes nothing, and the OperationOutcome's expression names "
    "the field (`body.children[1]`, `body.note`). Closing a high-priority concern needs an "
    "outcome and a note. Needs FlagReview create, Flag read and Patient read scopes.",
    response_model=FamilyReviewResult,
    responses=fhir_responses(400, 401, 403, 404, 409, 413, 415, 422, 429),
    openapi_extra=json_request(FamilyReviewRequest),
)
async def post_family_review(
    family_id: Id, request: Request, state: StateDep, who: PrincipalDep
) -> FamilyReviewResult:
    note = AuditNote("review", "Flag", query=f"families/{family_id}/review")
    children, given = family_review_input(await review_body(request, state, who, note))
    note.references = sorted({f"Patient/{c}" for c in children})  # a refusal names them too
    ctx = state.write_context()
    return await audited(
        state, who, note, (), lambda s: review_family(s, family_id, children, given, who, ctx), ctx
    )


async def review_body(request: Request, state: AppState, who: Principal, note: AuditNote) -> bytes:
    """A review's JSON body, read only after the caller's scopes are checked: a caller who
    may not review learns nothing more."""
    await require_all(state, who, note, (REVIEW, "create"), ("Flag", "read"), ("Patient", "read"))
    return await read_json(request, REVIEW_BODY_LIMIT)


@router.get(
    "/children",
    tags=["Nurse"],
    summary="Find a child by NHS number, name, date of birth, or name with date of birth",
    description="`q`: an NHS number (spaces allowed), a name or part of one, a date of birth "
    "(2020-03-01 or 01/03/2020), or words with a date. At most 50 children, by name, each "
    "with the other members of their family now; `more` says to narrow the search. Needs the "
    "Patient search scope; audited as a search naming every patient shown.",
    response_model=ChildSearch,
    responses=fhir_responses(400, 401, 403, 429),
)
async def find_children(
    request: Request,
    state: StateDep,
    who: PrincipalDep,
    q: Annotated[str, Query(max_length=200)],
) -> ChildSearch:
    note = AuditNote("search", "Patient", query=str(request.query_params))
    today = state.clock().date()
    return await audited(
        state, who, note, [("Patient", "search")], lambda s: child_search.find_children(s, q, today)
    )
