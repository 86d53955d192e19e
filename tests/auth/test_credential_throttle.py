"""Credential endpoints under attack: throttled per identity and per address before any hash
is computed, hashing off the event loop, failures counted atomically, and lock-out per
username and address with growing pauses. Both databases."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import httpx
import pytest
from fastapi.testclient import TestClient

from app.auth.credential_throttle import CredentialThrottle
from app.runtime import AppState
from app.services.access import users
from app.store import auth_repo
from app.store.auth_models import LoginFailure
from tests.auth_helpers import register
from tests.conftest import PASSWORD
from tests.live_server import serve

UNLIMITED = (1e6, 10**6)


@pytest.fixture
def strict(state: AppState) -> Iterator[AppState]:
    """Three attempts per identity and per address, then one every ten minutes."""
    saved = state.credentials
    state.credentials = CredentialThrottle(0.1, 3, 0.1, 3, 2)
    yield state
    state.credentials = saved


def token(http: TestClient | httpx.Client, client_id: str, secret: str) -> httpx.Response:
    return http.post(
        "/auth/token", data={"grant_type": "client_credentials"}, auth=(client_id, secret)
    )


def test_token_requests_are_throttled_per_client_before_the_secret_is_checked(
    anonymous: TestClient, strict: AppState
) -> None:
    strict.credentials = CredentialThrottle(0.1, 3, *UNLIMITED, 2)
    new = register(strict, role="source")
    assert [token(anonymous, new.client_id, "wrong").status_code for _ in range(3)] == [401] * 3
    right = token(anonymous, new.client_id, new.client_secret or "")
    assert right.status_code == 429  # refused before the (right) secret was even looked at
    assert right.json()["error"] == "slow_down" and int(right.headers["retry-after"]) >= 1
    other = register(strict, role="source")
    assert token(anonymous, other.client_id, other.client_secret or "").status_code == 200


def test_token_requests_are_throttled_per_address(anonymous: TestClient, strict: AppState) -> None:
    strict.credentials = CredentialThrottle(*UNLIMITED, 0.1, 3, 2)
    statuses = [token(anonymous, f"guess-{n}", "wrong").status_code for n in range(4)]
    assert statuses == [401, 401, 401, 429]


def test_sign_in_is_throttled_before_the_password_is_checked(
    anonymous: TestClient, strict: AppState, nurse: str
) -> None:
    strict.credentials = CredentialThrottle(0.1, 3, *UNLIMITED, 2)

    def sign_in(password: str) -> httpx.Response:
        page = anonymous.get("/login").text
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', page)
        assert csrf
        return anonymous.post(
            "/login",
            follow_redirects=False,
            data={"username": nurse, "password": password, "csrf_token": csrf.group(1)},
        )

    assert [sign_in("wrong password!").status_code for _ in range(3)] == [401] * 3
    r = sign_in(PASSWORD)
    assert r.status_code == 429 and "wnb_session" not in r.headers.get("set-cookie", "")


@pytest.mark.own_connections("concurrent requests to a real server")
@pytest.mark.usefixtures("production_hashing")  # the flood costs what it costs in service
def test_a_flood_of_wrong_secrets_leaves_the_service_responsive(state: AppState) -> None:
    new = register(state, role="source")
    with (
        serve(state) as base,
        httpx.Client(base_url=base, timeout=60) as http,
        ThreadPoolExecutor(40) as pool,
    ):
        # As many wrong secrets at once as the pool sends, each hashed at the service's cost.
        flood = [pool.submit(token, http, new.client_id, f"wrong-{n}") for n in range(40)]
        time.sleep(0.3)  # the flood is under way
        started = time.perf_counter()
        live = http.get("/health/live")
        took = time.perf_counter() - started
        unanswered = sum(not f.done() for f in flood)
        statuses = {f.result().status_code for f in flood}
    assert live.status_code == 200
    assert unanswered > 0, "the flood was over before /health/live was asked"
    assert took < 2.0, f"/health/live took {took:.1f}s under the flood"
    assert statuses == {401}


@pytest.mark.own_connections("concurrent requests to a real server")
def test_concurrent_failures_are_all_counted(state: AppState, nurse: str) -> None:
    def wrong_sign_in(base: str) -> int:
        with httpx.Client(base_url=base, timeout=120) as http:
            page = http.get("/login").text
            csrf = re.search(r'name="csrf_token" value="([^"]+)"', page)
            assert csrf
            return http.post(
                "/login",
                data={
                    "username": nurse,
                    "password": "wrong password!",
                    "csrf_token": csrf.group(1),
                },
            ).status_code

    saved = state.settings.lockout_attempts
    state.settings.lockout_attempts = 100  # count, do not pause, in this test
    try:
        with serve(state) as base, ThreadPoolExecutor(11) as pool:
            statuses = list(pool.map(lambda _: wrong_sign_in(base), range(11)))
    finally:
        state.settings.lockout_attempts = saved
    assert statuses == [401] * 11
    failures = state.read(lambda s: s.get(LoginFailure, (nurse, "127.0.0.1")))
    assert failures is not None and failures.failures == 11


def login(state: AppState, name: str, password: str, address: str) -> users.NewSession | str:
    settings = state.settings
    return state.write(
        lambda s: users.login(
            s,
            name,
            password,
            address,
            state.clock(),
            settings.lockout_attempts,
            timedelta(minutes=settings.lockout_minutes),
            timedelta(minutes=30),
        )
    )


def test_an_attacker_cannot_lock_the_nurse_out_and_pauses_grow(state: AppState, nurse: str) -> None:
    attacker, desk = "203.0.113.9", "198.51.100.7"
    for _ in range(state.settings.lockout_attempts):
        assert login(state, nurse, "guess", attacker) == users.REFUSED
    assert login(state, nurse, PASSWORD, attacker) == users.REFUSED  # paused, right or not
    assert isinstance(login(state, nurse, PASSWORD, desk), users.NewSession)

    def paused_for() -> timedelta:
        until = state.read(lambda s: auth_repo.login_blocked_until(s, nurse, attacker))
        assert until is not None
        return until - state.clock()

    first = paused_for()
    start = state.clock()
    state.clock = lambda: start + first + timedelta(seconds=1)
    assert login(state, nurse, "guess", attacker) == users.REFUSED
    assert paused_for() > first  # each further failure doubles the pause
