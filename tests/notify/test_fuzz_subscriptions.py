"""Schemathesis drives the Subscription operations as an agency (the suite-wide fuzz test
calls them as an admin, who is refused before any parsing): never a server error."""

from __future__ import annotations

import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error

from app.main import create_app
from app.runtime import AppState
from tests.notify.kit import agency, subscribe, subscription


def test_no_subscription_input_causes_a_server_error(
    hooks_state: AppState, hooks_client: TestClient
) -> None:
    auth = agency(hooks_state, hooks_client)
    sid = subscribe(hooks_client, auth, subscription("http://127.0.0.1:9/h"))["id"]
    schema = schemathesis.openapi.from_asgi("/openapi.json", create_app(state=hooks_state))
    operations = [
        op for result in schema.get_all_operations() if "ubscription" in (op := result.ok()).label
    ]
    calls: list[str] = []

    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(
            max_examples=25,
            deadline=None,
            derandomize=True,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def exercise(case: schemathesis.Case) -> None:
            if case.path_parameters and "sid" in case.path_parameters and len(calls) % 2:
                case.path_parameters["sid"] = sid  # half the calls reach a real subscription
            calls.append(case.operation.label)
            case.call_and_validate(checks=[not_a_server_error], headers=auth)

        exercise()
    assert len(set(calls)) == len(operations) >= 7
