"""Registering clients and getting tokens the way a real client does."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from app.runtime import AppState
from app.services.access.clients import NewClient, add_client


def register(
    state: AppState,
    role: str | None = None,
    scopes: str | None = None,
    jwks: dict[str, Any] | None = None,
    name: str = "test client",
) -> NewClient:
    return state.write(lambda s: add_client(s, name, scopes, role, jwks, state.clock()))


def token_for(
    state: AppState,
    http: TestClient,
    role: str | None = None,
    scopes: str | None = None,
    scope: str | None = None,
) -> str:
    new = register(state, role, scopes, name=f"{role or 'custom'} client")
    form = {"grant_type": "client_credentials"}
    if scope:
        form["scope"] = scope
    r = http.post("/auth/token", data=form, auth=(new.client_id, new.client_secret or ""))
    assert r.status_code == 200, r.text
    return r.json()["access_token"]
