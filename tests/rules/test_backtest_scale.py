"""A million events through backtest in well under a minute (opt-in: WNB_SCALE_TEST=1)."""

from __future__ import annotations

import os
import random
import time
from collections import Counter

import pytest
from rulekit import Kit, day

from app.rules import EventView, RuleSet, StatusView, backtest

# Roughly the mix a region sends: mostly attended and booked, about one in seven missed.
MIX = (
    ["attended"] * 55
    + ["booked"] * 15
    + ["was-not-brought"] * 12
    + ["no-access"] * 3
    + ["carer-cancelled"] * 8
    + ["provider-cancelled"] * 7
)
SERVICES = ["gp", "dental", "hv", "school-nursing", "paediatrics", "camhs", "immunisation"]


def region(
    total: int, per_family: int, seed: int = 1
) -> tuple[dict[str, list[EventView]], dict[str, list[StatusView]]]:
    """`total` events over three years, `per_family` to a family of one to four children."""
    rnd = random.Random(seed)
    events: dict[str, list[EventView]] = {}
    statuses: dict[str, list[StatusView]] = {}
    made = 0
    while made < total:
        family = f"f{len(events)}"
        children = [f"{family}c{i}" for i in range(rnd.randint(1, 4))]
        born = {child: rnd.randint(-3000, 300) for child in children}
        rows = []
        for j in range(min(per_family, total - made)):
            child, when = rnd.choice(children), rnd.uniform(0, 1095)
            rows.append(
                Kit.event(when, rnd.choice(MIX), child=child, service=rnd.choice(SERVICES),
                          age_days=max(0, int(when - born[child])), event_id=f"{family}e{j}")
            )  # fmt: skip
        events[family] = rows
        made += len(rows)
        if rnd.random() < 0.05:
            statuses[family] = [StatusView(rnd.choice(children), "cp-plan", day(200), None)]
    return events, statuses


@pytest.mark.skipif(not os.environ.get("WNB_SCALE_TEST"), reason="set WNB_SCALE_TEST=1 to run")
@pytest.mark.parametrize("per_family", [10, 60])
def test_a_million_events(default_rules: RuleSet, per_family: int) -> None:
    events, statuses = region(1_000_000, per_family)
    start = time.perf_counter()
    firings = backtest(default_rules, events, statuses, now=day(1200))
    elapsed = time.perf_counter() - start
    print(f"\n1,000,000 events, {per_family}/family: {elapsed:.1f}s, {len(firings)} firings")
    assert elapsed < 30
    assert set(Counter(t.firing.rule_id for t in firings)) == {r.id for r in default_rules.rules}
