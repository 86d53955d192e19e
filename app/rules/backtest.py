"""Replay stored history through a rule set, with no side effects, to see what it would flag."""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Hashable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import NamedTuple

from app.rules.calendar import day_number
from app.rules.fire import count_keys, evidence_window, firing_of
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
    family = prepare(events, statuses, same_miss)
    found: list[TimedFiring] = []
    for plan in plans:
        groups, follow_ups = plan_groups(plan, family)
        for group in groups:
            found.extend(
                TimedFiring(
                    at=w.at,
                    trigger_at=group[w.trigger].at,
                    firing=firing_of(
                        plan, group[w.trigger], w.pool[w.start : w.stop], family.sources
                    ),
                )
                for w in windows(plan, group, family.breaks, follow_ups, since, now)
            )
    return found


@dataclass(frozen=True, slots=True)
class Family:
    """One family's events as every rule reads them: reports of one miss folded (`ordered`, in
    `event_order`; `sources`), statuses by child, and each child's attended times (`breaks`,
    sorted: what ends a consecutive run)."""

    ordered: list[EventView]
    sources: Sources
    statuses: dict[str, list[StatusView]]
    breaks: dict[str, list[datetime]]


def prepare(
    events: Iterable[EventView], statuses: Iterable[StatusView], same_miss: timedelta
) -> Family:
    """A family's facts made ready for `plan_groups` and `windows`."""
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
    return Family(ordered, sources, by_child, breaks)


def plan_groups(plan: Plan, family: Family) -> tuple[list[list[EventView]], FollowUpIndex | None]:
    """The events `plan` counts, in `event_order`, one group per child (one for the whole
    family when the rule's scope is the family), and the follow-up index a time-based rule
    needs."""
    groups: dict[str, list[EventView]] = {}
    family_scope = plan.rule.scope == "family"
    categories = plan.categories
    statuses = family.statuses
    # The category test first, inline: it rejects most events before the full match, and
    # is the whole match for most rules.
    counted = [e for e in family.ordered if e.category in categories]
    if plan.by_category and family_scope:
        groups = {"": counted} if counted else {}
    elif plan.by_category:
        for event in counted:
            groups.setdefault(event.child_id, []).append(event)
    else:
        for event in counted:
            if plan.matches(event, statuses.get(event.child_id, ())):
                groups.setdefault("" if family_scope else event.child_id, []).append(event)
    if not groups:
        return [], None
    follow_ups = FollowUpIndex(plan, family.ordered) if plan.follow_up is not None else None
    return list(groups.values()), follow_ups


class Window(NamedTuple):
    """Where one trigger of a group fired: at `at`, for `group[trigger]`, on the evidence
    `pool[start:stop]`. `pool` is the group's slice from `offset` when nothing was left out
    of it (`contiguous`), so the evidence is then `group[offset + start:offset + stop]`. A
    named tuple: one is made for every trigger that fires, and a frozen dataclass costs
    several times as much to build."""

    at: datetime
    trigger: int
    pool: Sequence[EventView]
    start: int
    stop: int
    offset: int
    contiguous: bool


def windows(
    plan: Plan,
    group: list[EventView],
    breaks: Mapping[str, Sequence[datetime]],
    follow_ups: FollowUpIndex | None,
    since: datetime | None,
    now: datetime,
) -> Iterator[Window]:
    """Every trigger of `group` for which `plan` fires, in group order, as the backtest
    decides it (ingest rules see only the past; time-based rules are decided when their
    window closes, up to `now`)."""
    times = [e.at for e in group]
    days = [day_number(at) for at in times]
    keys = count_keys(plan, group) if plan.span is not None else None
    if plan.follow_up is None and not plan.rule.consecutive:
        yield from _ingest_windows(plan, group, days, keys, since, now)
        return
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
        candidates = group[start:stop]
        found = evidence_window(
            plan,
            candidates,
            index - start,
            breaks=breaks,
            follow_ups=follow_ups,
            now=at,
            days=days[start:stop],
            keys=None if keys is None else keys[start:stop],
        )
        if found is not None:
            pool, first, last = found
            yield Window(at, index, pool, first, last, start, pool is candidates)


def _ingest_windows(
    plan: Plan,
    group: list[EventView],
    days: list[int],
    keys: Sequence[Hashable] | None,
    since: datetime | None,
    now: datetime,
) -> Iterator[Window]:
    """`windows` for a rule judged at ingest that leaves nothing out of a window (no
    follow-up, no consecutive run): what `evidence_window` decides, without copying the
    window for each trigger (a rule counting services or children still counts the keys
    in it). The trigger is the window's last event (only the past had arrived), so the
    best window is the earliest, from the first event within the span to the trigger."""
    span, threshold = plan.span, plan.rule.threshold
    for index, event in enumerate(group):
        if event.at > now or (since is not None and event.at < since):
            continue
        if span is None:  # the trigger alone (a rule without a window has threshold 1)
            if threshold <= 1:
                yield Window(event.at, index, group, index, index + 1, 0, True)
            continue
        first = bisect_left(days, days[index] - span, 0, index)
        stop = index + 1
        distinct = stop - first if keys is None else len(set(keys[first:stop]))
        if distinct >= threshold:
            yield Window(event.at, index, group, first, stop, 0, True)
