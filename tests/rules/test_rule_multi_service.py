"""multi-service: WNB at 2+ different services for one child within 90 days."""

from __future__ import annotations

import pytest
from rulekit import Kit

from app.rules import EventView

RULE = "multi-service"
E = Kit.event


@pytest.mark.parametrize(
    ("history", "trigger", "evidence"),
    [
        ([], E(0), None),
        ([E(0, service="gp")], E(10, service="gp"), None),
        (
            [E(0, service="gp")],
            E(90, service="dental"),
            ("c1:was-not-brought:gp:d0", "c1:was-not-brought:dental:d90"),
        ),
        ([E(0, service="gp")], E(91, service="dental"), None),
        # An event with no service code cannot show a different service.
        ([E(0, service=None)], E(10, service="dental"), None),
        ([E(0, service="gp"), E(5, service="dental")], E(10, service=None), None),
        # Other categories at another service do not count.
        ([E(0, "carer-cancelled", service="hv")], E(10, service="gp"), None),
        ([E(0, "attended", service="hv")], E(10, service="gp"), None),
        # Another child's service does not count.
        ([E(0, service="dental", child="c2")], E(10, service="gp"), None),
        # Repeats at a service already counted are evidence too.
        (
            [E(0, service="gp"), E(5, service="dental")],
            E(10, service="gp"),
            (
                "c1:was-not-brought:gp:d0",
                "c1:was-not-brought:dental:d5",
                "c1:was-not-brought:gp:d10",
            ),
        ),
    ],
)
def test_multi_service(
    kit: Kit, history: list[EventView], trigger: EventView, evidence: tuple[str, ...] | None
) -> None:
    firing = kit.fires_for_c1(RULE, trigger, history, evidence)
    if firing is not None:
        assert firing.description == "Not brought to 2 different services within 90 days"
