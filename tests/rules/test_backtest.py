"""backtest replays history without side effects; it must agree with the obvious evaluation of
each event on its own (written here, slow and plain, as the oracle)."""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import pytest
from rulekit import ROOT, Kit, day

from app.rules import (
    EventView,
    Firing,
    RuleSet,
    StatusView,
    TimedFiring,
    backtest,
    diff,
    load_rules,
)
from app.rules.calendar import day_number
from app.rules.fire import fire
from app.rules.follow_up import FollowUpIndex
from app.rules.plan import Plan
from app.rules.ruleset import event_order
from app.rules.same_miss import merge_same_misses
from app.rules.schema import RUN_BREAKERS

E = Kit.event
CATEGORIES = ["was-not-brought"] * 4 + [
    "no-access",
    "carer-cancelled",
    "carer-cancelled",
    "provider-cancelled",
    "attended",
    "attended",
    "booked",
]
RUN_RULE = """
rules:
  - id: two-in-a-row
    version: 1
    description: Two missed appointments in a row within 60 days.
    priority: high
    agencies: [gp]
    scope: child
    categories: [was-not-brought, no-access]
    threshold: 2
    window_days: 60
    consecutive: true
"""


def random_history(seed: int) -> tuple[dict[str, list[EventView]], dict[str, list[StatusView]]]:
    """Small, dense families so that every rule fires often, ties in time included."""
    rnd = random.Random(seed)
    events: dict[str, list[EventView]] = {}
    statuses: dict[str, list[StatusView]] = {}
    for f in range(12):
        children = [f"f{f}c{i}" for i in range(rnd.randint(1, 3))]
        events[f"f{f}"] = [
            E(
                rnd.choice([rnd.randint(0, 400), rnd.uniform(0, 400)]),
                rnd.choice(CATEGORIES),
                child=rnd.choice(children),
                service=rnd.choice(["gp", "dental", "hv", None]),
                age_days=rnd.choice([None, rnd.randint(0, 3000)]),
                event_id=f"f{f}e{j}",
            )
            for j in range(rnd.randint(0, 40))
        ]
        statuses[f"f{f}"] = [
            StatusView(rnd.choice(children), "cp-plan", day(rnd.randint(0, 200)), day(300))
        ]
    return events, statuses


def evaluate_one(
    rules: RuleSet,
    plans: list[Plan],
    me: EventView,
    known: list[EventView],
    statuses: list[StatusView],
    now: datetime,
) -> list[Firing]:
    """The firings of `plans` for the trigger `me`, given the family's `known` events: every
    candidate within each rule's reach of the trigger, checked one by one."""
    family, sources = merge_same_misses(known, rules.same_miss)
    if not any(e is me for e in family):
        return []  # an earlier report of the same miss speaks for it
    today = day_number(me.at)
    mine = [e for e in family if e.child_id == me.child_id]
    breaks = {me.child_id: sorted(e.at for e in mine if e.category in RUN_BREAKERS)}
    of_child = {e.child_id: [s for s in statuses if s.child_id == e.child_id] for e in family}
    firings = []
    for plan in plans:
        if not plan.matches(me, of_child[me.child_id]):
            continue
        pool = mine if plan.rule.scope == "child" else family
        reach = plan.span
        candidates = sorted(
            (
                e
                for e in pool
                if (e is me or (reach is not None and abs(day_number(e.at) - today) <= reach))
                and plan.matches(e, of_child[e.child_id])
            ),
            key=event_order,
        )
        follow_ups = FollowUpIndex(plan, pool) if plan.follow_up is not None else None
        trigger = next(i for i, e in enumerate(candidates) if e is me)
        firing = fire(
            plan,
            candidates,
            trigger,
            breaks=breaks,
            follow_ups=follow_ups,
            now=now,
            sources=sources,
        )
        if firing is not None:
            firings.append(firing)
    return firings


def replay_one_by_one(
    rules: RuleSet,
    events: dict[str, list[EventView]],
    statuses: dict[str, list[StatusView]],
    now: datetime,
) -> list[TimedFiring]:
    """The slow, obvious replay: each event judged on what was known when it arrived (an
    ingest-time rule) or when its rule's window closed (a time-based one)."""
    at_ingest = [p for p in rules.plans if p.follow_up is None]
    found = []
    for family, family_events in events.items():
        ordered = sorted(family_events, key=event_order)
        for index, event in enumerate(ordered):
            if event.at > now:
                break
            seen = ordered[: index + 1]
            firings = evaluate_one(rules, at_ingest, event, seen, statuses[family], event.at)
            found += [TimedFiring(event.at, event.at, f) for f in firings]
            for plan in rules.plans:
                due = plan.due(event)
                if due is not None and due <= now and event.category in plan.categories:
                    known = [e for e in ordered if e.at <= due]
                    firings = evaluate_one(rules, [plan], event, known, statuses[family], due)
                    found += [TimedFiring(due, event.at, f) for f in firings]
    return found


@pytest.fixture(scope="module")
def rules(tmp_path_factory: pytest.TempPathFactory) -> RuleSet:
    folder = tmp_path_factory.mktemp("rules")
    (folder / "default.yaml").write_text((ROOT / "rules" / "default.yaml").read_text())
    (folder / "runs.yaml").write_text(RUN_RULE)
    return load_rules(folder)


def key(t: TimedFiring) -> tuple[object, ...]:
    return t.at, t.trigger_at, t.firing.rule_id, t.firing.trigger_event_id, t.firing.child_ids


@pytest.mark.parametrize("seed", range(6))
def test_backtest_agrees_with_evaluating_each_event(rules: RuleSet, seed: int) -> None:
    events, statuses = random_history(seed)
    now = day(380)
    expected = sorted(replay_one_by_one(rules, events, statuses, now), key=key)
    got = sorted(backtest(rules, events, statuses, now=now), key=key)
    assert len({t.firing.rule_id for t in got}) == len(rules.rules)  # every rule exercised
    assert got == expected


def test_since_keeps_later_firings_and_still_uses_older_history(default_rules: RuleSet) -> None:
    events = {"f": [E(0, service="hv"), E(10, service="hv"), E(12, "attended", service="hv")]}
    firings = backtest(default_rules, events, since=day(5), now=day(20))
    assert [(t.firing.rule_id, t.at) for t in firings] == [("repeat-wnb", day(10))]
    assert firings[0].firing.evidence_event_ids == (
        events["f"][0].event_id,
        events["f"][1].event_id,
    )


def test_time_based_firings_are_dated_when_the_window_closes(default_rules: RuleSet) -> None:
    events = {"f": [E(0), E(3, "booked", service="dental")]}
    firings = backtest(default_rules, events, now=day(30))
    assert [(t.firing.rule_id, t.at, t.trigger_at) for t in firings] == [
        ("not-rebooked", day(14.625), day(0))  # the end of local day 14 (midnight GMT)
    ]
    assert backtest(default_rules, events, now=day(13.9)) == []


def test_replay_stops_at_now(default_rules: RuleSet) -> None:
    events = {"f": [E(0, age_days=5), E(10, age_days=15)]}
    firings = backtest(default_rules, events, now=day(5))
    assert [(t.firing.rule_id, t.at) for t in firings] == [("infant-wnb", day(0))]


def test_backtest_is_ordered_and_leaves_input_alone(default_rules: RuleSet) -> None:
    events = {"b": [E(5, child="b1", age_days=10)], "a": [E(0, child="a1", age_days=10)]}
    snapshot = {k: list(v) for k, v in events.items()}
    firings = backtest(default_rules, events, now=day(5))
    assert [(t.at, t.firing.rule_id, t.firing.child_ids) for t in firings] == [
        (day(0), "infant-wnb", ("a1",)),
        (day(5), "infant-wnb", ("b1",)),
    ]
    assert events == snapshot


def test_diff_by_rule_and_child(default_rules: RuleSet, write_rules: Callable[..., Path]) -> None:
    events = {"f": [E(0), E(5, child="c2"), E(30), E(31, "attended")]}
    current = backtest(default_rules, events, now=day(40))
    shipped = (ROOT / "rules" / "default.yaml").read_text()
    proposed_rules = load_rules(write_rules(shipped.replace("window_days: 90", "window_days: 1")))
    change = diff(backtest(proposed_rules, events, now=day(40)), current)
    assert change.removed == (("family-wnb", "c1"), ("family-wnb", "c2"))
    assert change.added == ()
    assert change.kept == (
        ("not-rebooked", "c1"),
        ("not-rebooked", "c2"),
        ("repeat-wnb", "c1"),
    )
    # Plain pairs (today's open flags) compare too.
    assert diff(current, [("repeat-wnb", "c1"), ("infant-wnb", "c9")]).removed == (
        ("infant-wnb", "c9"),
    )


def test_one_large_family_is_replayed_in_linear_time(rules: RuleSet) -> None:
    # 20,000 events in one family over 50 years: a quadratic replay would take minutes.
    rnd = random.Random(7)
    events = [
        E(
            i * 0.9,
            rnd.choice(CATEGORIES),
            child=f"c{i % 3}",
            service=rnd.choice(["gp", "hv"]),
            event_id=f"e{i}",
        )
        for i in range(20_000)
    ]
    start = time.perf_counter()
    firings = backtest(rules, {"big": events}, now=day(20_000))
    assert time.perf_counter() - start < 20
    assert len(firings) > 10_000
