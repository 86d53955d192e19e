"""Schemathesis drives every operation in openapi/openapi.json with generated input: whatever
it sends, the answer is never a server error."""

from __future__ import annotations

import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error

from app.main import create_app
from app.runtime import AppState


def test_no_input_causes_a_server_error(state: AppState, role_tokens: dict[str, str]) -> None:
    # Driven by hand rather than through schemathesis' pytest plugin, which does not load
    # under this pytest; the checks and the generated cases are the same.
    schema = schemathesis.openapi.from_asgi("/openapi.json", create_app(state=state))
    operations = [result.ok() for result in schema.get_all_operations()]
    calls: list[str] = []
    auth = {"Authorization": f"Bearer {role_tokens['admin']}"}

    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(
            max_examples=15,
            deadline=None,
            derandomize=True,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def exercise(case: schemathesis.Case) -> None:
            calls.append(case.operation.label)
            case.call_and_validate(checks=[not_a_server_error], headers=auth)

        exercise()
    assert len(set(calls)) == len(operations) > 20
