"""Live reconciliation merges the replay's evidence windows (`evidence_union.merged_flags`);
the backtest builds one `Firing` per trigger and `merge_firings` merges them. Both must give
the same flags for any rules and any family: the same (rule, child) keys in the same order,
the same evidence, children, wording, agencies and age flags. And the replay itself (its
windows, a fast path for rules judged at ingest, events grouped by category alone where
that is the whole match) must give what the first replay gave: `fire` for each trigger of
each group of events that `Plan.matches`, kept unchanged in `first_replay.py`, the oracle.
Hypothesis draws the rules (scope, count, threshold, windows, consecutive runs, ages,
statuses, follow-ups, summaries) and the family (children, services, places, same-miss
reports, bookings, partial ages, joint appointments, statuses, deaths), and the moments
that decide (deaths, `now` and `since`) on the family's own edges as often as not: an
event's time, a time-based rule's due time, a death of unknown date."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.rules import EventView, RuleSet, StatusView, load_rules
from app.rules.backtest import replay_family
from app.rules.desired import DEATH_DATE_UNKNOWN, FamilyFacts, desired_flags, merge_firings
from app.rules.evidence_union import _runs, merged_flags
from app.rules.schema import Rule
from tests.rules.first_replay import first_replay

ROOT = Path(__file__).resolve().parents[2]
T0 = datetime(2025, 3, 1, 9, tzinfo=UTC)
CHILDREN = ("c1", "c2", "c3")
CATEGORIES = (
    "was-not-brought",
    "no-access",
    "attended",
    "booked",
    "carer-cancelled",
    "did-not-attend",
    "provider-cancelled",
)
# What a rule may count (attended is added apart: it cannot count in a consecutive run).
COUNTED = tuple(c for c in CATEGORIES if c != "attended")
SERVICES = (None, "gp", "dental", "org|A1")
SUMMARIES = (
    None,
    "{events} missed within {window_days} days",
    "{children} children, {services} services, {threshold} needed, {follow_up_days} days",
)


@st.composite
def rules(draw: st.DrawFn, index: int, gaps: bool = False) -> Rule:
    """A valid rule. `gaps`: one whose evidence can leave out events of its window (a
    consecutive run, or a time-based rule), over more than one event."""
    scope = draw(st.sampled_from(["child", "family"]))
    counted = draw(st.lists(st.sampled_from(COUNTED), min_size=1, max_size=3, unique=True))
    if not gaps and draw(st.booleans()):
        counted.append("attended")
    count = draw(
        st.sampled_from(["events", "services"] + (["children"] if scope == "family" else []))
    )
    threshold = draw(st.integers(2 if gaps else 1, 3))
    window = draw(st.integers(1, 120)) if threshold > 1 else draw(st.none() | st.integers(1, 120))
    consecutive = scope == "child" and "attended" not in counted and draw(st.booleans())
    follow = None
    if (gaps and not consecutive) or draw(st.integers(0, 3)) == 0:
        follow = {
            "within_days": draw(st.integers(1, 20)),
            "categories": draw(
                st.lists(
                    st.sampled_from(["booked", "attended", "booked", "was-not-brought"]),
                    min_size=1,
                    unique=True,
                )
            ),
            "same_service": draw(st.booleans()),
        }
    age = draw(st.sampled_from([None, None, None, {"under": {"years": 1}}, {"min_days": 500}]))
    statuses = draw(st.sampled_from([[], [], [], ["cp-plan"]]))
    return Rule.model_validate(
        {
            "id": f"r{index}",
            "version": draw(st.integers(1, 3)),
            "description": "a rule drawn by the test",
            "summary": draw(st.sampled_from(SUMMARIES)),
            "priority": draw(st.sampled_from(["high", "medium", "low"])),
            "agencies": draw(
                st.lists(st.sampled_from(["gp", "social-care"]), min_size=1, unique=True)
            ),
            "scope": scope,
            "categories": counted,
            "count": count,
            "threshold": threshold,
            "window_days": window,
            "consecutive": consecutive,
            "age": age,
            "statuses": statuses,
            "no_follow_up": follow,
        }
    )


@st.composite
def rule_sets(draw: st.DrawFn, gaps: bool = False) -> RuleSet:
    count = draw(st.integers(1, 4))
    minutes = draw(st.sampled_from([30, 60, 240]))
    return RuleSet([draw(rules(i, gaps)) for i in range(count)], timedelta(minutes=minutes))


@st.composite
def events(draw: st.DrawFn) -> EventView:
    # Days and times close together, so windows overlap, reports fold and runs break.
    at = T0 + timedelta(
        days=draw(st.integers(0, 90)), minutes=draw(st.sampled_from([0, 20, 59, 300]))
    )
    booked = draw(st.one_of(st.none(), st.integers(-5, 20)))
    return EventView(
        event_id=f"e{draw(st.integers(0, 25))}",
        child_id=draw(st.sampled_from(CHILDREN)),
        at=at,
        category=draw(st.sampled_from(CATEGORIES)),
        service_key=draw(st.sampled_from(SERVICES)),
        age_days=draw(st.sampled_from([800, 800, 360, None])),
        booked_at=None if booked is None else at + timedelta(days=booked),
        age_uncertain_days=draw(st.sampled_from([0, 0, 20])),
        place=draw(st.sampled_from([None, "org|A1"])),
    )


@st.composite
def families(draw: st.DrawFn) -> list[EventView]:
    """Events, some of them joint appointments (one id and time, several children), some
    recorded twice for one child."""
    found = draw(st.lists(events(), min_size=3, max_size=30))
    for i in draw(st.lists(st.integers(0, 29), max_size=4)):
        if i < len(found):
            e = found[i]
            other = draw(st.sampled_from([c for c in CHILDREN if c != e.child_id]))
            found.append(replace(e, child_id=other))
    # Two views of one appointment of one child (its outcome or service recorded twice).
    for i in draw(st.lists(st.integers(0, 29), max_size=3)):
        if i < len(found):
            e = found[i]
            found.append(
                replace(
                    e,
                    category=draw(st.sampled_from(CATEGORIES)),
                    service_key=draw(st.sampled_from(SERVICES)),
                )
            )
    return found


@st.composite
def statuses(draw: st.DrawFn) -> StatusView:
    start = draw(st.one_of(st.none(), st.integers(0, 80)))
    length = draw(st.one_of(st.none(), st.integers(0, 90)))
    return StatusView(
        child_id=draw(st.sampled_from(CHILDREN)),
        status="cp-plan",
        start=None if start is None else T0 + timedelta(days=start),
        end=None if start is None or length is None else T0 + timedelta(days=start + length),
    )


def edges(rule_set: RuleSet, history: list[EventView]) -> st.SearchStrategy[datetime]:
    """A moment: a day from T0 at 09:00, or one of the family's own edges (an event's time,
    a time-based rule's due time for one of them), where `<` and `<=` part ways."""
    own = sorted(
        {e.at for e in history}
        | {due for plan in rule_set.plans for e in history if (due := plan.due(e)) is not None}
    )
    days = st.integers(0, 120).map(lambda d: T0 + timedelta(days=d))
    return st.one_of(days, st.sampled_from(own)) if own else days


def deaths(rule_set: RuleSet, history: list[EventView]) -> st.SearchStrategy[dict[str, datetime]]:
    moments = st.one_of(edges(rule_set, history), st.just(DEATH_DATE_UNKNOWN))
    return st.dictionaries(st.sampled_from(CHILDREN), moments, max_size=2)


def _reference(rule_set: RuleSet, facts: FamilyFacts, now: datetime) -> list[object]:
    found = first_replay(rule_set, facts.events, facts.statuses, None, now)
    return list(merge_firings(found, facts.deaths).items())


def _merged(rule_set: RuleSet, facts: FamilyFacts, now: datetime) -> list[object]:
    out = merged_flags(
        rule_set.plans,
        facts.events,
        facts.statuses,
        facts.deaths,
        now=now,
        same_miss=rule_set.same_miss,
    )
    return list(out.items())


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    rule_set=st.one_of(rule_sets(), rule_sets(gaps=True)),
    history=families(),
    held=st.lists(statuses(), max_size=3),
    data=st.data(),
)
def test_merging_windows_equals_merging_firings(
    rule_set: RuleSet, history: list[EventView], held: list[StatusView], data: st.DataObject
) -> None:
    """Half the rule sets hold rules whose evidence can leave events of its window out (runs
    broken by attendances, misses followed up): the union is then of the events kept."""
    facts = FamilyFacts(history, held, data.draw(deaths(rule_set, history)))
    now = data.draw(edges(rule_set, history))
    assert _merged(rule_set, facts, now) == _reference(rule_set, facts, now)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(history=families(), held=st.lists(statuses(), max_size=2), data=st.data())
def test_the_shipped_rules_agree_too(
    history: list[EventView], held: list[StatusView], data: st.DataObject
) -> None:
    shipped = load_rules(ROOT / "rules")
    facts = FamilyFacts(history, held, data.draw(deaths(shipped, history)))
    now = data.draw(edges(shipped, history))
    assert _merged(shipped, facts, now) == _reference(shipped, facts, now)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    rule_set=st.one_of(rule_sets(), rule_sets(gaps=True)),
    history=families(),
    held=st.lists(statuses(), max_size=2),
    data=st.data(),
)
def test_the_replay_gives_the_first_replays_firings(
    rule_set: RuleSet, history: list[EventView], held: list[StatusView], data: st.DataObject
) -> None:
    """The backtest's replay: the same firings, in the same order, as the first replay."""
    since = data.draw(st.none() | edges(rule_set, history))
    now = data.draw(edges(rule_set, history))
    found = replay_family(
        rule_set.plans, history, held, since=since, now=now, same_miss=rule_set.same_miss
    )
    assert found == first_replay(rule_set, history, held, since, now)


def test_a_long_history_merges_each_window_once() -> None:
    """Twelve misses in a year: `repeat-wnb` fires eleven times, and the flag holds all
    twelve, worded by the latest firing (the one counting every miss)."""
    shipped = load_rules(ROOT / "rules")
    history = [
        EventView(f"m{i}", "c1", T0 + timedelta(days=30 * i), "was-not-brought", "gp", 2000)
        for i in range(12)
    ]
    flags = desired_flags(shipped, FamilyFacts(history), T0 + timedelta(days=400))
    repeat = flags[("repeat-wnb", "c1")]
    assert repeat.events == {f"m{i}" for i in range(12)}
    assert repeat.description == "12 missed appointments within 365 days"
    assert repeat.children == {"c1"}


@given(st.lists(st.integers(0, 40), unique=True).map(sorted))
def test_positions_become_runs_of_neighbours(positions: list[int]) -> None:
    runs = _runs(positions)
    assert [i for lo, hi in runs for i in range(lo, hi)] == positions
    assert all(hi < lo for (_, hi), (lo, _) in pairwise(runs))


def test_a_miss_at_the_moment_of_death_counts_and_one_after_does_not() -> None:
    """The death cut-off is strict, for rules of one child and of the family alike: what
    happened at the recorded moment of death counts, what came after does not."""
    shipped = load_rules(ROOT / "rules")
    died = T0 + timedelta(days=40)

    def miss(event_id: str, child: str, at: datetime) -> EventView:
        return EventView(event_id, child, at, "was-not-brought", "gp", 2000)

    history = [
        miss("a", "c1", T0),
        miss("b", "c1", died),
        miss("c", "c1", died + timedelta(hours=2)),  # not a second report of "b"
        miss("s", "c2", T0 + timedelta(days=1)),
    ]
    facts = FamilyFacts(history, (), {"c1": died})
    now = T0 + timedelta(days=60)
    flags = desired_flags(shipped, facts, now)
    assert flags[("repeat-wnb", "c1")].events == {"a", "b"}
    assert flags[("family-wnb", "c1")].events == {"a", "b", "s"}
    assert _merged(shipped, facts, now) == _reference(shipped, facts, now)


def test_since_keeps_a_firing_at_that_very_moment() -> None:
    """`since` keeps firings at or after it: a miss at exactly `since` is reported, by the
    fast path and by the general one (a time-based rule, decided at its due time)."""
    shipped = load_rules(ROOT / "rules")
    first = EventView("a", "c1", T0, "was-not-brought", "gp", 2000)
    second = EventView("b", "c1", T0 + timedelta(days=30), "was-not-brought", "dental", 2000)
    now = T0 + timedelta(days=90)
    not_rebooked = next(p for p in shipped.plans if p.rule.id == "not-rebooked")
    for since in (second.at, not_rebooked.due(second)):
        assert since is not None
        found = replay_family(shipped.plans, [first, second], (), since=since, now=now)
        assert found == first_replay(shipped, [first, second], (), since, now)
        assert {(t.firing.rule_id, t.firing.trigger_event_id) for t in found if t.at == since}


def test_two_rules_of_one_id_are_refused() -> None:
    """Flags are keyed by (rule id, child): a rule set may not hold one id twice."""
    rule = load_rules(ROOT / "rules").rules[0]
    with pytest.raises(ValueError, match="same id"):
        RuleSet([rule, rule.model_copy(update={"categories": ["no-access"]})])
