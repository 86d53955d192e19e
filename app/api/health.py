"""Liveness (the process answers) and readiness (it can reach its database). A load balancer
sends traffic only to ready replicas; an orchestrator restarts only dead ones, so a database
outage takes replicas out of rotation without killing them, and they return by themselves."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends
from sqlalchemy import text

from app.api.state import state_of
from app.runtime import AppState

router = APIRouter(tags=["health"])


@router.get("/health/live", summary="Liveness: the process answers (never touches the database)")
async def live() -> dict[str, str]:  # on the event loop: answers even with every thread busy
    return {"status": "ok"}


@router.get(
    "/health/ready",
    summary="Readiness: the database answers (503 with Retry-After while it does not)",
    responses={503: {"description": "The database is unavailable."}},
)
def ready(state: Annotated[AppState, Depends(state_of)]) -> dict[str, str]:
    # A failure here is an OperationalError, which the error handlers answer with 503.
    state.read(lambda s: s.execute(text("SELECT 1")))
    return {"status": "ok"}


@router.get("/health", summary="Readiness (kept for existing health checks)")
def health(state: Annotated[AppState, Depends(state_of)]) -> dict[str, str]:
    return ready(state)
