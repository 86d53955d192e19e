"""The rule replay as first written (`bfcf2a4`), kept as the oracle of
`test_evidence_union.py`: every event `Plan.matches` grouped, and `fire` (copied here
unchanged, with its helpers) asked of every trigger with the window's events. It shares no
code with the replay under test beyond the pieces both read (plans, the window search, the
follow-up index, the same-miss fold, the calendar).

A plain module (not conftest) so the test can import it by its unique name.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Hashable, Mapping, Sequence
from datetime import datetime

from app.rules import EventView, Firing, RuleSet, StatusView, TimedFiring
from app.rules.calendar import day_number
from app.rules.follow_up import FollowUpIndex
from app.rules.plan import Plan
from app.rules.same_miss import Sources, merge_same_misses, source_key
from app.rules.schema import RUN_BREAKERS
from app.rules.window import best_window


def first_replay(
    rule_set: RuleSet,
    events: Sequence[EventView],
    statuses: Sequence[StatusView],
    since: datetime | None,
    now: datetime,
) -> list[TimedFiring]:
    """Every firing of `rule_set` over one family, as the first replay found them."""
    ordered, sources = merge_same_misses(events, rule_set.same_miss)
    by_child: dict[str, list[StatusView]] = {}
    for status in statuses:
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
                firing = first_fire(
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


def first_fire(
    plan: Plan,
    candidates: Sequence[EventView],
    trigger: int,
    *,
    breaks: Mapping[str, Sequence[datetime]],
    follow_ups: FollowUpIndex | None,
    now: datetime,
    sources: Sources | None = None,
    days: Sequence[int] | None = None,
) -> Firing | None:
    """Return the firing of `plan` for `candidates[trigger]`, or None.

    `candidates` are sorted by time, every one already `plan.matches` and in the rule's scope
    (the trigger's child, or its family), and lie within the rule's window of the trigger.
    `breaks` gives each child's sorted attended times (for consecutive runs); `follow_ups` is
    needed by time-based rules. The rule fires only with the trigger inside the evidence, so
    a later, unrelated event never re-reports an old pattern. `sources` lists every event id
    behind an event that stands for several reports of one miss (see `same_miss`). `days`:
    the candidates' `day_number`s when the caller has them (the replay works them out once
    per group, not once per trigger).
    """
    me = candidates[trigger]
    pool: Sequence[EventView] = candidates
    index: int | None = trigger
    if plan.follow_up is not None:
        assert follow_ups is not None
        # Count a missed event only once its own follow-up window has closed, unanswered.
        pool = [
            e
            for e in pool
            if (due := plan.due(e)) is not None and due <= now and not follow_ups.followed_up(e)
        ]
        index = _position(pool, me)
    if plan.rule.consecutive and index is not None:
        child_breaks = breaks.get(me.child_id, ())
        run = bisect_left(child_breaks, me.at)
        pool = [e for e in pool if bisect_left(child_breaks, e.at) == run]
        index = _position(pool, me)
    if index is None or len(pool) < plan.rule.threshold:
        return None
    if plan.span is None:
        return _first_firing(plan, me, [me], sources)
    if days is None or pool is not candidates:
        days = [day_number(e.at) for e in pool]
    start, stop, distinct = best_window(days, _keys(plan, pool), index, plan.span)
    if distinct < plan.rule.threshold:
        return None
    return _first_firing(plan, me, pool[start:stop], sources)


def _position(pool: Sequence[EventView], me: EventView) -> int | None:
    return next((i for i, e in enumerate(pool) if e is me), None)


def _keys(plan: Plan, pool: Sequence[EventView]) -> Sequence[Hashable] | None:
    count = plan.rule.count
    if count == "services":
        return [e.service_key for e in pool]
    if count == "children":
        return [e.child_id for e in pool]
    return None  # every event is its own thing


def _first_firing(
    plan: Plan, trigger: EventView, evidence: Sequence[EventView], sources: Sources | None
) -> Firing:
    rule = plan.rule
    if rule.scope == "child":
        children: tuple[str, ...] = (trigger.child_id,)
    else:
        children = tuple(sorted({e.child_id for e in evidence}))
    # Ids repeat when a caller hands in several rows of one appointment; keep the first. An
    # event standing for one miss reported by several systems names every report.
    if sources:
        event_ids = tuple(
            dict.fromkeys(i for e in evidence for i in sources.get(source_key(e), (e.event_id,)))
        )
    else:  # the usual case, no miss reported twice: the same ids without a lookup each
        event_ids = tuple(dict.fromkeys(e.event_id for e in evidence))
    uncertain = tuple(sorted({e.child_id for e in evidence if e.age_uncertain_days}))
    description = rule.description
    if rule.summary is not None:
        follow = rule.no_follow_up
        services = {e.service_key for e in evidence} - {None} if plan.counts_services else ()
        description = rule.summary.format(
            events=len(evidence),
            children=len(children),
            services=len(services),
            threshold=rule.threshold,
            window_days=rule.window_days or 0,
            follow_up_days=follow.within_days if follow else 0,
        )
    return Firing(
        rule_id=rule.id,
        rule_version=rule.version,
        child_ids=children,
        evidence_event_ids=event_ids,
        description=description,
        priority=rule.priority,
        trigger_event_id=trigger.event_id,
        agencies=tuple(rule.agencies),
        age_uncertain_child_ids=uncertain,
    )
