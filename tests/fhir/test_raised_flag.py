"""Issue 8 item 6: a raised Flag can say that the child's age was uncertain."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from app.fhir.raised_flag import evidence_url, raised_flag

CANON = "https://wnb.dev/fhir"


def flag(**extra: Any) -> dict[str, Any]:
    return raised_flag(
        canonical=CANON,
        rule_system=f"{CANON}/CodeSystem/wnb-rule",
        flag_id="f1",
        rule_id="infant-wnb",
        rule_version=2,
        description="d",
        summary="s",
        priority="high",
        child_id="c1",
        opened_at=datetime(2026, 6, 1, tzinfo=UTC),
        closed_at=None,
        events=["Appointment/a1"],
        family=[],
        agencies=["gp"],
        **extra,
    )


@pytest.mark.parametrize(("uncertain", "said"), [(True, [True]), (False, [])])
def test_age_uncertain_is_in_the_evidence(uncertain: bool, said: list[bool]) -> None:
    [evidence] = [
        x for x in flag(age_uncertain=uncertain)["extension"] if x["url"] == evidence_url(CANON)
    ]
    found = [x["valueBoolean"] for x in evidence["extension"] if x["url"] == "age-uncertain"]
    assert found == said
