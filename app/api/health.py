"""Liveness and readiness."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends
from sqlalchemy import text

from app.api.state import get_state
from app.runtime import AppState

router = APIRouter(tags=["health"])


@router.get("/health", summary="Health check: the database answers")
def health(state: Annotated[AppState, Depends(get_state)]) -> dict[str, str]:
    state.read(lambda s: s.execute(text("SELECT 1")))
    return {"status": "ok"}
