"""Failed authentications are throttled per address before they reach the audit trail: within
the burst each is a 401 and a record; beyond it 429 with Retry-After, and one aggregated
record per address per minute with the count. Both databases."""

from __future__ import annotations

import base64
import dataclasses
from collections import Counter
from datetime import timedelta

from fastapi.testclient import TestClient

from app.auth.refusal_throttle import RefusalThrottle
from app.main import create_app
from app.runtime import AppState
from tests.conftest import FIXED_NOW

JUNK = {"Authorization": "Bearer not-a-token"}


def _new_refusals(http: TestClient, admin: str, before: list[str]) -> list[str]:
    """The refusal records written since `before` was read: the audit trail is kept across
    tests (append-only), so an earlier test's refusals from the test client's address are
    there too."""
    left = Counter(_refusals(http, admin)) - Counter(before)
    return sorted(left.elements())


def _refusals(http: TestClient, admin: str) -> list[str]:
    trail = http.get(
        "/fhir/AuditEvent",
        params={"subtype": "authenticate", "_count": "1000"},
        headers={"Authorization": f"Bearer {admin}"},
    )
    assert trail.status_code == 200, trail.text
    out = []
    for e in trail.json().get("entry", []):
        [entity] = [x for x in e["resource"]["entity"] if "query" in x]
        out.append(base64.b64decode(entity["query"]).decode())
    return out


def test_junk_tokens_from_one_address_are_throttled_and_counted(
    state: AppState, role_tokens: dict[str, str]
) -> None:
    now = [FIXED_NOW]
    throttled_state = dataclasses.replace(
        state, refusals=RefusalThrottle(0.01, 5), clock=lambda: now[0]
    )
    with TestClient(create_app(state=throttled_state)) as http:
        before = _refusals(http, role_tokens["admin"])
        answers = [http.get("/fhir/Patient", headers=JUNK) for _ in range(50)]
        assert [r.status_code for r in answers[:5]] == [401] * 5
        assert {r.status_code for r in answers[5:]} == {429}
        assert all(int(r.headers["retry-after"]) >= 1 for r in answers[5:])
        # five refusals, and one record that the throttling began
        assert len(_new_refusals(http, role_tokens["admin"], before)) == 6

        now[0] = FIXED_NOW + timedelta(seconds=61)
        assert http.get("/fhir/Patient", headers=JUNK).status_code == 429
        records = _new_refusals(http, role_tokens["admin"], before)
    assert len(records) == 7
    assert "45 refused authentications from one address" in records
    assert "1 refused authentications from one address" in records
