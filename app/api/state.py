"""What a route depends on: the running app's state and the caller."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from app.api.security import checked_principal
from app.auth.principal import Principal
from app.runtime import AppState


def get_state(request: Request) -> AppState:
    state: AppState = request.app.state.wnb  # set by the app factory; Starlette's is untyped
    return state


async def state_of(request: Request) -> AppState:
    """`get_state` as a route dependency. async: FastAPI runs a plain function dependency on
    the thread pool, a hand-off to a thread and back on every request for one attribute."""
    return get_state(request)


StateDep = Annotated[AppState, Depends(state_of)]
PrincipalDep = Annotated[Principal, Depends(checked_principal)]
