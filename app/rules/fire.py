"""Decide whether one rule fires for one trigger, given the events that match the rule."""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Hashable, Mapping, Sequence
from datetime import datetime

from app.rules.calendar import day_number
from app.rules.follow_up import FollowUpIndex
from app.rules.model import EventView, Firing
from app.rules.plan import Plan
from app.rules.same_miss import Sources, source_key
from app.rules.window import best_window


def fire(
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
    """Return the firing of `plan` for `candidates[trigger]`, or None. (The replay asks
    `evidence_window` and words a firing with `firing_of`; this is both, for one trigger.)

    `candidates` are sorted by time, every one already `plan.matches` and in the rule's scope
    (the trigger's child, or its family), and lie within the rule's window of the trigger.
    `breaks` gives each child's sorted attended times (for consecutive runs); `follow_ups` is
    needed by time-based rules. The rule fires only with the trigger inside the evidence, so
    a later, unrelated event never re-reports an old pattern. `sources` lists every event id
    behind an event that stands for several reports of one miss (see `same_miss`). `days`:
    the candidates' `day_number`s when the caller has them (the replay works them out once
    per group, not once per trigger).
    """
    found = evidence_window(
        plan, candidates, trigger, breaks=breaks, follow_ups=follow_ups, now=now, days=days
    )
    if found is None:
        return None
    pool, start, stop = found
    return firing_of(plan, candidates[trigger], pool[start:stop], sources)


def evidence_window(
    plan: Plan,
    candidates: Sequence[EventView],
    trigger: int,
    *,
    breaks: Mapping[str, Sequence[datetime]],
    follow_ups: FollowUpIndex | None,
    now: datetime,
    days: Sequence[int] | None = None,
    keys: Sequence[Hashable] | None = None,
) -> tuple[Sequence[EventView], int, int] | None:
    """Where `fire` finds the evidence: `(pool, start, stop)` with the evidence
    `pool[start:stop]`, or None when the rule does not fire. `pool` is `candidates` itself
    (the same object) unless a follow-up or a consecutive run left some of them out, so a
    caller merging many firings can hold the evidence as a slice of its group instead of a
    list per firing. `keys`: the candidates' `count` keys when the caller has them (as
    `days`)."""
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
    if len(pool) == len(candidates):  # nothing left out: the evidence is a slice of them
        pool = candidates
    if plan.span is None:
        return pool, index, index + 1
    if days is None or pool is not candidates:
        days = [day_number(e.at) for e in pool]
    if keys is None or pool is not candidates:
        keys = count_keys(plan, pool)
    start, stop, distinct = best_window(days, keys, index, plan.span)
    if distinct < plan.rule.threshold:
        return None
    return pool, start, stop


def _position(pool: Sequence[EventView], me: EventView) -> int | None:
    return next((i for i, e in enumerate(pool) if e is me), None)


def count_keys(plan: Plan, pool: Sequence[EventView]) -> Sequence[Hashable] | None:
    """What `plan` counts distinct in `pool`, one key per event; None: every event."""
    count = plan.rule.count
    if count == "services":
        return [e.service_key for e in pool]
    if count == "children":
        return [e.child_id for e in pool]
    return None  # every event is its own thing


def wording(plan: Plan, children: int, evidence: Sequence[EventView]) -> str:
    """What a firing of `plan` says: its summary filled in from the evidence (`children`:
    how many children the firing names), else the rule's description."""
    rule = plan.rule
    if rule.summary is None:
        return rule.description
    follow = rule.no_follow_up
    services = {e.service_key for e in evidence} - {None} if plan.counts_services else ()
    return rule.summary.format(
        events=len(evidence),
        children=children,
        services=len(services),
        threshold=rule.threshold,
        window_days=rule.window_days or 0,
        follow_up_days=follow.within_days if follow else 0,
    )


def firing_of(
    plan: Plan, trigger: EventView, evidence: Sequence[EventView], sources: Sources | None
) -> Firing:
    """The firing of `plan` for `trigger` on `evidence` (see `fire`)."""
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
    description = wording(plan, len(children), evidence)
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
