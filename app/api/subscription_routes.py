"""FHIR Subscriptions (R4 + Backport) for partner agencies, and the operators' delivery log
and replay. The signing secret is in the create response only."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from enum import Enum
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, Field

from app.api.audited import Need, audited
from app.api.body import read_json
from app.api.fhir_routes import READ_ERRORS, WRITE_ERRORS
from app.api.openapi_docs import fhir_body, fhir_responses
from app.api.responses import FhirResponse
from app.api.security import require_all
from app.api.state import PrincipalDep, StateDep
from app.fhir.dates import parse_range
from app.fhir.errors import FhirError
from app.fhir.parse import load_json
from app.notify.ssrf import parse_networks
from app.runtime import AppState
from app.services.access.audit import AuditNote
from app.services.agencies import subscription_events as subscription_events_service
from app.services.agencies import subscription_ops, subscriptions

router = APIRouter()
TAGS: list[str | Enum] = ["Subscription"]  # as FastAPI types them: a list of names or Enums


def _note(interaction: str, sid: str | None = None) -> tuple[AuditNote, list[Need]]:
    """The audit note that names the subscription, and the scope the interaction needs."""
    note = AuditNote(interaction, "Subscription", [f"Subscription/{sid}"] if sid else [])
    return note, [("Subscription", interaction)]


def _context(state: AppState) -> subscriptions.SubscriptionContext:
    return subscriptions.SubscriptionContext(
        now=state.clock(),
        fhir_base=state.fhir_base,
        allowed_networks=parse_networks(state.settings.webhook_allowed_networks),
        rules=state.rules,
        secret_overlap=timedelta(hours=state.settings.webhook_secret_overlap_hours),
    )


@router.post(
    "/fhir/Subscription",
    tags=TAGS,
    summary="Subscribe to a topic (agencies); the response carries the signing secret, once",
    status_code=201,
    openapi_extra=fhir_body("Subscription"),
    responses=fhir_responses(201, *WRITE_ERRORS),
    response_class=FhirResponse,
)
async def create_subscription(request: Request, state: StateDep, who: PrincipalDep) -> FhirResponse:
    note, needs = _note("create")
    await require_all(state, who, note, *needs)  # before the body is read
    raw = await read_json(request, state.settings.max_body_bytes)
    ctx = _context(state)
    shown = await audited(
        state, who, note, (), lambda s: subscriptions.create(s, who, load_json(raw), ctx)
    )
    location = f"{state.fhir_base}/Subscription/{shown.id}/_history/{shown.version}"
    return FhirResponse(
        shown.content,
        status_code=201,
        headers={"Location": location, "ETag": f'W/"{shown.version}"', "Cache-Control": "no-store"},
    )


@router.get(
    "/fhir/Subscription",
    tags=TAGS,
    summary="The caller's subscriptions (an admin's: all)",
    responses=fhir_responses(*READ_ERRORS),
    response_class=FhirResponse,
)
async def list_subscriptions(state: StateDep, who: PrincipalDep) -> FhirResponse:
    note, needs = _note("search")
    body = await audited(
        state, who, note, needs, lambda s: subscriptions.listed(s, who, state.fhir_base)
    )
    return FhirResponse(body)


@router.get(
    "/fhir/Subscription/{sid}",
    tags=TAGS,
    summary="Read a subscription (never its secret)",
    responses=fhir_responses(*READ_ERRORS),
    response_class=FhirResponse,
)
async def read_subscription(sid: str, state: StateDep, who: PrincipalDep) -> FhirResponse:
    note, needs = _note("read", sid)
    shown = await audited(state, who, note, needs, lambda s: subscriptions.read(s, who, sid))
    return FhirResponse(shown.content, headers={"ETag": f'W/"{shown.version}"'})


@router.put(
    "/fhir/Subscription/{sid}",
    tags=TAGS,
    summary="Change a subscription: a new secret rotates it; a new endpoint re-handshakes",
    openapi_extra=fhir_body("Subscription"),
    responses=fhir_responses(200, *WRITE_ERRORS),
    response_class=FhirResponse,
)
async def update_subscription(
    sid: str, request: Request, state: StateDep, who: PrincipalDep
) -> FhirResponse:
    note, needs = _note("update", sid)
    await require_all(state, who, note, *needs)  # before the body is read
    raw = await read_json(request, state.settings.max_body_bytes)
    ctx = _context(state)
    shown = await audited(
        state, who, note, (), lambda s: subscriptions.update(s, who, sid, load_json(raw), ctx)
    )
    return FhirResponse(shown.content, headers={"ETag": f'W/"{shown.version}"'})


@router.get(
    "/fhir/Subscription/{sid}/$events",
    tags=TAGS,
    summary="Re-fetch this subscription's events by number (Backport $events), id-only",
    responses=fhir_responses(400, *READ_ERRORS),
    response_class=FhirResponse,
)
async def subscription_events(
    sid: str,
    request: Request,
    state: StateDep,
    who: PrincipalDep,
    eventsSinceNumber: Annotated[str | None, Query()] = None,
    eventsUntilNumber: Annotated[str | None, Query()] = None,
) -> FhirResponse:
    # The declared parameters document the operation; all of the query is checked by the
    # service, so an unknown one is refused rather than ignored.
    note, needs = _note("read", sid)
    params = list(request.query_params.multi_items())
    now = state.clock()
    body = await audited(
        state,
        who,
        note,
        needs,
        lambda s: subscription_events_service.events(s, who, sid, params, now),
    )
    return FhirResponse(body)


@router.get(
    "/fhir/Subscription/{sid}/$status",
    tags=TAGS,
    summary="SubscriptionStatus: state, latest event number, error",
    responses=fhir_responses(*READ_ERRORS),
    response_class=FhirResponse,
)
async def subscription_status(sid: str, state: StateDep, who: PrincipalDep) -> FhirResponse:
    note, needs = _note("read", sid)
    body = await audited(state, who, note, needs, lambda s: subscriptions.status(s, who, sid))
    return FhirResponse(body)


@router.get(
    "/api/subscriptions",
    tags=TAGS,
    summary="Delivery progress (admins): messages by state, oldest pending, subscriptions",
    responses=fhir_responses(401, 403, 429),
)
async def delivery_summary(state: StateDep, who: PrincipalDep) -> dict[str, Any]:
    note, needs = _note("search")
    now = datetime.now(UTC)  # deliveries are timed on the wall clock
    return await audited(state, who, note, needs, lambda s: subscription_ops.summary(s, who, now))


@router.get(
    "/api/subscriptions/{sid}/attempts",
    tags=TAGS,
    summary="Delivery attempt log, newest first, with message counts by state",
    responses=fhir_responses(400, 401, 403, 404, 429),
)
async def delivery_attempts(
    sid: str,
    state: StateDep,
    who: PrincipalDep,
    count: Annotated[int, Query(alias="_count", ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(alias="_offset", ge=0)] = 0,
) -> dict[str, Any]:
    note, needs = _note("read", sid)
    return await audited(
        state, who, note, needs, lambda s: subscription_ops.attempts(s, who, sid, count, offset)
    )


class ReplayRequest(BaseModel):
    webhook_id: str | None = Field(default=None, max_length=64)
    since: str | None = Field(
        default=None, description="an instant: replay every undelivered event since"
    )
    include_delivered: bool = Field(
        default=False, description="with since: delivered events too, not only undelivered ones"
    )


@router.post(
    "/api/subscriptions/{sid}/replay",
    tags=TAGS,
    summary="Send again one message (by webhook-id) or every event since a time",
    responses=fhir_responses(400, 401, 403, 404, 422, 429),
)
async def replay(
    sid: str, body: ReplayRequest, state: StateDep, who: PrincipalDep
) -> dict[str, int]:
    note, needs = _note("update", sid)
    await require_all(state, who, note, *needs)  # before the body is judged
    since = None
    if body.since is not None:
        span = parse_range(body.since)
        if span is None:
            raise FhirError.one(400, "invalid", "since must be a FHIR instant.", "body.since")
        since = span[0]
    now = state.clock()
    return await audited(
        state,
        who,
        note,
        (),
        lambda s: subscription_ops.replay(
            s, who, sid, body.webhook_id, since, now, body.include_delivered
        ),
    )
