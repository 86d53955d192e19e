"""A bearer token answered on the event loop: the signature checked once per process, the
expiry on every use, and the client from the process's cache (no query, so no thread) while
it is fresh; refusals stay exactly what they were."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event

from app.runtime import AppState
from app.services.access.authenticate import Authenticator, Unauthenticated
from app.services.access.clients import revoke_client
from tests.auth_helpers import register, token_for
from tests.conftest import FIXED_NOW, TEST_SECRET


@contextmanager
def statements(state: AppState) -> Iterator[list[str]]:
    seen: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        seen.append(statement)

    event.listen(state.engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(state.engine, "before_cursor_execute", record)


def test_a_known_client_is_answered_from_the_cache_without_a_query(
    anonymous: TestClient, state: AppState
) -> None:
    auth = Authenticator(TEST_SECRET, cache_seconds=3600)
    token = token_for(state, anonymous, role="nurse")
    claims = auth.verified(token, FIXED_NOW)
    assert auth.cached_principal(claims) is None  # never looked up: the caller must
    first = auth.principal(state.reader, claims)
    with statements(state) as seen:
        again = auth.cached_principal(auth.verified(token, FIXED_NOW))
    assert again == first and seen == []
    assert first.kind == "client" and first.role == "nurse"


def test_without_a_cache_every_check_looks_the_client_up(
    anonymous: TestClient, state: AppState
) -> None:
    auth = Authenticator(TEST_SECRET, cache_seconds=0)
    claims = auth.verified(token_for(state, anonymous, role="nurse"), FIXED_NOW)
    auth.principal(state.reader, claims)
    assert auth.cached_principal(claims) is None


def test_a_remembered_token_still_expires_and_a_revoked_client_is_still_refused(
    anonymous: TestClient, state: AppState
) -> None:
    auth = Authenticator(TEST_SECRET, cache_seconds=3600)
    new = register(state, role="nurse")
    r = anonymous.post(
        "/auth/token",
        data={"grant_type": "client_credentials"},
        auth=(new.client_id, new.client_secret or ""),
    )
    token, lifetime = r.json()["access_token"], r.json()["expires_in"]
    auth.verified(token, FIXED_NOW)  # remembered
    with pytest.raises(Unauthenticated, match="expired"):
        auth.verified(token, FIXED_NOW + timedelta(seconds=lifetime))
    state.write(lambda s: revoke_client(s, new.client_id, FIXED_NOW))
    claims = auth.verified(token, FIXED_NOW)
    with pytest.raises(Unauthenticated, match="revoked"):
        auth.principal(state.reader, claims)
    with pytest.raises(Unauthenticated, match="revoked"):
        auth.cached_principal(claims)  # the revocation is what the cache holds now


def test_a_forged_token_is_refused_every_time(anonymous: TestClient, state: AppState) -> None:
    auth = Authenticator(TEST_SECRET, cache_seconds=3600)
    token = token_for(state, anonymous, role="nurse")
    forged = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")
    for _ in range(2):
        with pytest.raises(Unauthenticated, match="not valid"):
            auth.verified(forged, FIXED_NOW)


def test_the_api_answers_a_cached_client_on_the_event_loop(
    state: AppState, anonymous: TestClient, role_tokens: dict[str, str]
) -> None:
    """Through the app, with the cache on: the second request makes no client query."""
    state.auth = Authenticator(TEST_SECRET, cache_seconds=3600)
    headers = {"Authorization": f"Bearer {role_tokens['admin']}"}
    assert anonymous.get("/fhir/Patient", headers=headers).status_code == 200
    with statements(state) as seen:
        assert anonymous.get("/fhir/Patient", headers=headers).status_code == 200
    assert not [s for s in seen if "FROM api_client" in s]
