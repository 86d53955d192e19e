"""The running app's state, for route dependencies."""

from __future__ import annotations

from fastapi import Request

from app.runtime import AppState


def get_state(request: Request) -> AppState:
    state: AppState = request.app.state.wnb  # set by the app factory; Starlette's is untyped
    return state
