"""infant-wnb: any WNB for a child under one year (0-364 days) at the event."""

from __future__ import annotations

import pytest
from rulekit import Kit

RULE = "infant-wnb"


@pytest.mark.parametrize(
    ("age_days", "category", "fires"),
    [
        (0, "was-not-brought", True),
        (200, "was-not-brought", True),
        (364, "was-not-brought", True),
        (365, "was-not-brought", False),
        (366, "was-not-brought", False),
        (2000, "was-not-brought", False),
        (None, "was-not-brought", False),  # unknown age cannot show the child is an infant
        (100, "carer-cancelled", False),
        (100, "attended", False),
        (100, "no-access", True),  # a no-access home visit counts like a WNB (local choice)
        (100, "carer-cancelled", False),
    ],
)
def test_infant(kit: Kit, age_days: int | None, category: str, fires: bool) -> None:
    trigger = kit.event(5, category, age_days=age_days)
    firing = kit.fired(trigger).get(RULE)
    if fires:
        assert firing is not None
        assert (firing.child_ids, firing.evidence_event_ids) == (("c1",), (trigger.event_id,))
        assert firing.description == "Missed appointment for a baby under one year old"
    else:
        assert firing is None


def test_age_is_taken_at_each_event(kit: Kit) -> None:
    # Missed as a baby, then again after the first birthday: only the baby one is infant-wnb.
    baby = kit.event(0, age_days=300)
    toddler = kit.event(100, age_days=400)
    assert RULE not in kit.fired(toddler, [baby])
    assert RULE in kit.fired(baby, [toddler])
