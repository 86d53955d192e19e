"""Replay stored history through a rule set, with no side effects, to see what it would flag."""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime, timedelta

from app.rules.calendar import day_number
from app.rules.fire import fire
from app.rules.follow_up import FollowUpIndex
from app.rules.model import EventView, StatusView, TimedFiring
from app.rules.plan import Plan
from app.rules.ruleset import RuleSet
from app.rules.same_miss import DEFAULT_WINDOW, Sources, merge_same_misses
from app.rules.schema import RUN_BREAKERS

EventsByFamily = Mapping[str, Iterable[EventView]]
StatusesByFamily = Mapping[str, Iterable[StatusView]]


def backtest(
    rules: RuleSet,
    events_by_family: EventsByFamily,
    statuses_by_family: StatusesByFamily | None = None,
    since: datetime | None = None,
    *,
    now: datetime | None = None,
) -> list[TimedFiring]:
    """Every firing `rules` would have produced had each event arrived at its own time.

    Ingest rules see only the family's events up to the trigger (in `event_order`); time-based
    rules are decided when their window closes, seeing events up to then. The replay stops at
    `now` (default: the current time); `since` keeps firings at or after it, while older events
    still count as history. Each family is replayed once with a sliding window per rule, so the
    cost grows with the number of events, not with its square. Sorted by time, rule, children.
    """
    clock = now if now is not None else datetime.now(UTC)
    statuses_by_family = statuses_by_family or {}
    found: list[TimedFiring] = []
    for family_id, events in events_by_family.items():
        statuses = statuses_by_family.get(family_id, ())
        found.extend(
            replay_family(
                rules.plans, events, statuses, since=since, now=clock, same_miss=rules.same_miss
            )
        )
    found.sort(key=lambda t: (t.at, t.firing.rule_id, t.firing.child_ids, t.trigger_at))
    return found


def replay_family(
    plans: Sequence[Plan],
    events: Iterable[EventView],
    statuses: Iterable[StatusView],
    *,
    since: datetime | None,
    now: datetime,
    same_miss: timedelta = DEFAULT_WINDOW,
) -> list[TimedFiring]:
    """Replay one family's events through `plans` (see `backtest`), unsorted. Reports of one
    miss from several systems are one event, as at ingest."""
    # Already in `event_order` (time, id, category), repeats of one view dropped:
    # merge_same_misses sorts by it.
    ordered, sources = merge_same_misses(events, same_miss)
    by_child: dict[str, list[StatusView]] = {}
    for status in statuses:
        by_child.setdefault(status.child_id, []).append(status)
    breaks: dict[str, list[datetime]] = {}
    for event in ordered:
        if event.category in RUN_BREAKERS:
            breaks.setdefault(event.child_id, []).append(event.at)
    found: list[TimedFiring] = []
    for plan in plans:
        groups: dict[str, list[EventView]] = {}
        family_scope = plan.rule.scope == "family"
        categories = plan.categories
        # The category test first, inline: it rejects most events before the full match.
        for event in [e for e in ordered if e.category in categories]:
            if plan.matches(event, by_child.get(event.child_id, ())):
                groups.setdefault("" if family_scope else event.child_id, []).append(event)
        if not groups:
            continue
        follow_ups = FollowUpIndex(plan, ordered) if plan.follow_up is not None else None
        for group in groups.values():
            found.extend(_replay_group(plan, group, breaks, follow_ups, since, now, sources))
    return found


def _replay_group(
    plan: Plan,
    group: list[EventView],
    breaks: Mapping[str, Sequence[datetime]],
    follow_ups: FollowUpIndex | None,
    since: datetime | None,
    now: datetime,
    sources: Sources,
) -> Iterable[TimedFiring]:
    times = [e.at for e in group]
    days = [day_number(at) for at in times]
    for index, event in enumerate(group):
        due = plan.due(event)
        if due is None:  # a rule judged at ingest
            at = event.at
            stop = index + 1  # the past only: later events had not arrived yet
        else:
            at = due
            # At the close of this window every event up to the trigger's time is decided too.
            stop = bisect_right(times, event.at)
        if at > now or (since is not None and at < since):
            continue
        if plan.span is None:
            start = index
            stop = index + 1
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
            days=days[start:stop],
        )
        if firing is not None:
            yield TimedFiring(at=at, trigger_at=event.at, firing=firing)
