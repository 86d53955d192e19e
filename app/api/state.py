"""The running app's state, for route dependencies."""

from __future__ import annotations

from fastapi import Request

from app.runtime import AppState


def get_state(request: Request) -> AppState:
    state: AppState = request.app.state.wnb  # set by the app factory; Starlette's is untyped
    return state


async def state_of(request: Request) -> AppState:
    """`get_state` as a route dependency. async: FastAPI runs a plain function dependency on
    the thread pool, a hand-off to a thread and back on every request for one attribute."""
    return get_state(request)
