"""Rate limits and settings that refuse default secrets."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError

from app.auth.rate_limit import RateLimiter
from app.main import create_app
from app.runtime import AppState
from app.settings import Settings


def test_rate_limit_gives_429_with_retry_after(
    state: AppState, role_tokens: dict[str, str]
) -> None:
    saved = state.limiter
    state.limiter = RateLimiter(per_second=0.5, burst=3)
    try:
        with TestClient(create_app(state=state)) as http:
            headers = {"Authorization": f"Bearer {role_tokens['nurse']}"}
            statuses = [http.get("/fhir/Patient", headers=headers).status_code for _ in range(5)]
            last = http.get("/fhir/Patient", headers=headers)
    finally:
        state.limiter = saved
    assert statuses == [200, 200, 200, 429, 429]
    assert int(last.headers["retry-after"]) >= 1
    assert last.json()["issue"][0]["code"] == "throttled"


def test_limits_are_per_caller() -> None:
    limiter = RateLimiter(per_second=1, burst=1)
    assert limiter.check("client:a") == 0
    assert limiter.check("client:a") > 0
    assert limiter.check("client:b") == 0


@pytest.mark.parametrize("secret", [None, "short"])
def test_production_refuses_default_or_weak_secret(secret: str | None) -> None:
    values = {"environment": "production", **({"secret_key": secret} if secret else {})}
    with pytest.raises(ValidationError, match="WNB_SECRET_KEY"):
        Settings(**values)  # type: ignore[arg-type]


def test_production_accepts_a_real_secret() -> None:
    Settings(environment="production", secret_key="x" * 40, audit_key="a" * 40)


def test_production_refuses_to_turn_the_audit_off() -> None:
    with pytest.raises(ValidationError, match="WNB_AUDIT_ENABLED"):
        Settings(
            environment="production", secret_key="x" * 40, audit_key="a" * 40, audit_enabled=False
        )
