"""Live reconciliation merges the replay's evidence windows (`evidence_union.merged_flags`);
the backtest builds one `Firing` per trigger and `merge_firings` merges them. Both must give
the same flags for any rules and any family: the same (rule, child) keys in the same order,
the same evidence, children, wording, agencies and age flags. And the replay itself (its
windows, a fast path for rules judged at ingest, events grouped by category alone where
that is the whole match) must give what the first replay gave: `fire` for each trigger of
each group of events that `Plan.matches`, kept here as `_first_replay`, the oracle.
Hypothesis draws the rules (scope, count, threshold, windows, consecutive runs, ages,
statuses, follow-ups, summaries) and the family (children, services, places, same-miss
reports, bookings, partial ages, joint appointments, statuses, deaths)."""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.rules import EventView, RuleSet, StatusView, TimedFiring, load_rules
from app.rules.backtest import replay_family
from app.rules.calendar import day_number
from app.rules.desired import FamilyFacts, desired_flags, merge_firings
from app.rules.evidence_union import merged_flags
from app.rules.fire import fire
from app.rules.follow_up import FollowUpIndex
from app.rules.same_miss import merge_same_misses
from app.rules.schema import RUN_BREAKERS, Rule

ROOT = Path(__file__).resolve().parents[2]
T0 = datetime(2025, 3, 1, 9, tzinfo=UTC)
CHILDREN = ("c1", "c2", "c3")
CATEGORIES = ("was-not-brought", "no-access", "attended", "booked", "carer-cancelled")
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
    counted = draw(
        st.lists(st.sampled_from(CATEGORIES[:2] + CATEGORIES[4:]), min_size=1, unique=True)
    )
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
                st.lists(st.sampled_from(["booked", "attended"]), min_size=1, unique=True)
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


DEATHS = st.dictionaries(
    st.sampled_from(CHILDREN),
    st.integers(0, 100).map(lambda d: T0 + timedelta(days=d)),
    max_size=2,
)


def _first_replay(
    rule_set: RuleSet, facts: FamilyFacts, since: datetime | None, now: datetime
) -> list[TimedFiring]:
    """The replay as first written: every event `Plan.matches` grouped, and `fire` asked of
    every trigger with the window's events."""
    ordered, sources = merge_same_misses(facts.events, rule_set.same_miss)
    by_child: dict[str, list[StatusView]] = {}
    for status in facts.statuses:
        by_child.setdefault(status.child_id, []).append(status)
    breaks: dict[str, list[datetime]] = {}
    for event in ordered:
        if event.category in RUN_BREAKERS:
            breaks.setdefault(event.child_id, []).append(event.at)
    found: list[TimedFiring] = []
    for plan in rule_set.plans:
        groups: dict[str, list[EventView]] = {}
        for event in ordered:
            if plan.matches(event, by_child.get(event.child_id, ())):
                key = "" if plan.rule.scope == "family" else event.child_id
                groups.setdefault(key, []).append(event)
        follow_ups = FollowUpIndex(plan, ordered) if plan.follow_up is not None else None
        for group in groups.values():
            times = [e.at for e in group]
            days = [day_number(at) for at in times]
            for index, event in enumerate(group):
                due = plan.due(event)
                at = event.at if due is None else due
                stop = index + 1 if due is None else bisect_right(times, event.at)
                if at > now or (since is not None and at < since):
                    continue
                if plan.span is None:
                    start, stop = index, index + 1
                else:
                    start = bisect_left(days, days[index] - plan.span, 0, index)
                firing = fire(
                    plan,
                    group[start:stop],
                    index - start,
                    breaks=breaks,
                    follow_ups=follow_ups,
                    now=at,
                    sources=sources,
                )
                if firing is not None:
                    found.append(TimedFiring(at=at, trigger_at=event.at, firing=firing))
    return found


def _reference(rule_set: RuleSet, facts: FamilyFacts, now: datetime) -> list[object]:
    found = _first_replay(rule_set, facts, None, now)
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
    deaths=DEATHS,
    now_days=st.integers(0, 120),
)
def test_merging_windows_equals_merging_firings(
    rule_set: RuleSet,
    history: list[EventView],
    held: list[StatusView],
    deaths: dict[str, datetime],
    now_days: int,
) -> None:
    """Half the rule sets hold rules whose evidence can leave events of its window out (runs
    broken by attendances, misses followed up): the union is then of the events kept."""
    facts = FamilyFacts(history, held, deaths)
    now = T0 + timedelta(days=now_days)
    assert _merged(rule_set, facts, now) == _reference(rule_set, facts, now)


@settings(max_examples=150, deadline=None)
@given(history=families(), deaths=DEATHS, now_days=st.integers(0, 120))
def test_the_shipped_rules_agree_too(
    history: list[EventView], deaths: dict[str, datetime], now_days: int
) -> None:
    shipped = load_rules(ROOT / "rules")
    facts = FamilyFacts(history, (), deaths)
    now = T0 + timedelta(days=now_days)
    assert _merged(shipped, facts, now) == _reference(shipped, facts, now)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    rule_set=st.one_of(rule_sets(), rule_sets(gaps=True)),
    history=families(),
    held=st.lists(statuses(), max_size=2),
    since_days=st.none() | st.integers(0, 100),
    now_days=st.integers(0, 120),
)
def test_the_replay_gives_the_first_replays_firings(
    rule_set: RuleSet,
    history: list[EventView],
    held: list[StatusView],
    since_days: int | None,
    now_days: int,
) -> None:
    """The backtest's replay: the same firings, in the same order, as the first replay."""
    facts = FamilyFacts(history, held)
    since = None if since_days is None else T0 + timedelta(days=since_days)
    now = T0 + timedelta(days=now_days)
    found = replay_family(
        rule_set.plans, history, held, since=since, now=now, same_miss=rule_set.same_miss
    )
    assert found == _first_replay(rule_set, facts, since, now)


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
