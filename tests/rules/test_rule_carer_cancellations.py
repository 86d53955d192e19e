"""carer-cancellations: 3+ carer cancellations for one child within 90 days."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from rulekit import ROOT, Kit

from app.rules import EventView, load_rules

RULE = "carer-cancellations"
CC = "carer-cancelled"
E = Kit.event


@pytest.mark.parametrize(
    ("history", "trigger", "evidence"),
    [
        ([E(0, CC)], E(10, CC), None),
        (
            [E(0, CC), E(45, CC)],
            E(90, CC),
            ("c1:carer-cancelled:gp:d0", "c1:carer-cancelled:gp:d45", "c1:carer-cancelled:gp:d90"),
        ),
        ([E(0, CC), E(45, CC)], E(91, CC), None),
        ([E(0, CC), E(45, "provider-cancelled")], E(50, CC), None),
        ([E(0, CC), E(45, CC, child="c2")], E(50, CC), None),
        ([E(0, CC), E(45, CC)], E(50), None),  # the trigger is a WNB: not a cancellation
        # Not consecutive: attended in between does not break it.
        (
            [E(0, CC), E(1, "attended"), E(2, CC)],
            E(3, CC),
            ("c1:carer-cancelled:gp:d0", "c1:carer-cancelled:gp:d2", "c1:carer-cancelled:gp:d3"),
        ),
    ],
)
def test_carer_cancellations(
    kit: Kit, history: list[EventView], trigger: EventView, evidence: tuple[str, ...] | None
) -> None:
    firing = kit.fires_for_c1(RULE, trigger, history, evidence)
    if firing is not None:
        assert firing.priority == "low"


def test_cancellations_by_nobody_known_are_not_the_carers(kit: Kit) -> None:
    # Shipped choice (hazard H-11): a cancellation with no reason is not counted as the carer's.
    history = [Kit.event(0, "cancelled-unknown"), Kit.event(10, "cancelled-unknown")]
    assert "carer-cancellations" not in kit.fired(Kit.event(20, "carer-cancelled"), history)
    carers = [Kit.event(0, "carer-cancelled"), Kit.event(10, "carer-cancelled")]
    assert "carer-cancellations" in kit.fired(Kit.event(20, "carer-cancelled"), carers)


def test_a_partnership_may_count_them(write_rules: Callable[..., Path]) -> None:
    text = (ROOT / "rules" / "default.yaml").read_text()
    counted = text.replace(
        "categories: [carer-cancelled]", "categories: [carer-cancelled, cancelled-unknown]"
    )
    local = Kit(load_rules(write_rules(counted)))
    history = [Kit.event(0, "cancelled-unknown"), Kit.event(10, "carer-cancelled")]
    firing = local.fired(Kit.event(20, "cancelled-unknown"), history)["carer-cancellations"]
    assert len(firing.evidence_event_ids) == 3
