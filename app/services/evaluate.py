"""Evaluating trigger rules for new coded events (at ingest, same transaction) and for
time-based checks that have come due (the worker). Each family is locked while it is judged,
so two siblings' events are never judged blind to each other."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from app.rules import Context, EventView, Firing, RuleSet, StatusView
from app.services.flags import raise_flags
from app.services.writes import WriteContext, WriteRequest
from app.store import events_repo, family_repo, rules_repo


@dataclass(frozen=True)
class Trigger:
    """A coded event to judge: its row's key and what the rules see of it."""

    event_pk: int
    view: EventView


def view_of(row: Any) -> EventView:
    """An EventView from a row with rules_repo.EVENT_COLUMNS."""
    return EventView(
        event_id=f"{row.resource_type}/{row.resource_id}",
        child_id=row.child_id,
        at=row.event_at,
        category=row.category,
        service_code=row.service_code,
        age_days=row.age_days,
    )


def evaluate_events(
    session: Session, triggers: list[Trigger], ctx: WriteContext
) -> list[WriteRequest]:
    """Stamp the events with their family, run the ingest-time rules for those a rule could
    count, and schedule the time-based ones. Returns the Flag writes that raise or update
    flags."""
    events_repo.stamp_families(session, [t.event_pk for t in triggers])
    families = family_repo.families_of(session, {t.view.child_id for t in triggers})
    by_family: dict[str, list[Trigger]] = defaultdict(list)
    for t in triggers:
        by_family[families[t.view.child_id]].append(t)
    rules = ctx.rules
    if rules is None:
        return []
    wanted = rules.trigger_categories()
    judged = {f: [t for t in group if t.view.category in wanted] for f, group in by_family.items()}
    judged = {f: group for f, group in judged.items() if group}
    if not judged:
        return []
    family_repo.lock(session, judged)
    firings: list[Firing] = []
    due: list[dict[str, object]] = []
    for trigger, context in _contexts(session, rules, judged, ctx.now):
        firings += rules.evaluate(context)
        due += [
            {"event_pk": trigger.event_pk, "rule_id": rule_id, "due_at": at}
            for rule_id, at in rules.due_times(context.trigger).items()
            if at > ctx.now
        ]
    rules_repo.schedule(session, due)
    return raise_flags(session, firings, families, ctx)


def evaluate_due(
    session: Session, ctx: WriteContext, limit: int = 500
) -> tuple[int, list[WriteRequest]]:
    """Decide the time-based checks whose window has closed by `ctx.now`."""
    rules = ctx.rules
    claimed = rules_repo.claim_due(session, ctx.now, limit)
    if rules is None or not claimed:
        return len(claimed), []
    families = family_repo.families_of(session, {row.child_id for row in claimed})
    family_repo.lock(session, families.values())
    by_family: dict[str, list[Trigger]] = defaultdict(list)
    rule_of: dict[int, list[str]] = defaultdict(list)
    for row in claimed:
        if row.pk not in rule_of:
            by_family[families.get(row.child_id, row.child_id)].append(
                Trigger(row.pk, view_of(row))
            )
        rule_of[row.pk].append(row.rule_id)
    firings: list[Firing] = []
    for trigger, context in _contexts(session, rules, by_family, ctx.now):
        firings += rules.evaluate_due(context, rule_ids=rule_of[trigger.event_pk])
    rules_repo.done(session, [row.check_pk for row in claimed])
    return len(claimed), raise_flags(session, firings, families, ctx)


def _contexts(
    session: Session, rules: RuleSet, by_family: dict[str, list[Trigger]], now: datetime
) -> list[tuple[Trigger, Context]]:
    """A Context for each trigger, reading every family's events, members and statuses in
    one query each for the whole batch."""
    members = family_repo.members(session, by_family)
    kids = {
        f: members.get(f) or sorted({t.view.child_id for t in group})
        for f, group in by_family.items()
    }
    every_kid = sorted({k for group in kids.values() for k in group})
    reach = timedelta(days=rules.lookback_days())
    moments = [t.view.at for group in by_family.values() for t in group]
    rows = rules_repo.events_between(session, every_kid, min(moments) - reach, max(moments) + reach)
    by_child: dict[str, list[EventView]] = defaultdict(list)
    for row in rows:
        by_child[row.child_id].append(view_of(row))
    statuses: dict[str, list[StatusView]] = defaultdict(list)
    if rules.uses_statuses():
        for s in rules_repo.statuses_of(session, every_kid):
            statuses[s.child_id].append(
                StatusView(child_id=s.child_id, status=s.status, start=s.start, end=s.end)
            )
    out = []
    for family_id, group in sorted(by_family.items()):
        family_events = sorted(
            (v for k in kids[family_id] for v in by_child[k]), key=lambda v: v.at
        )
        family_statuses = [s for k in kids[family_id] for s in statuses[k]]
        out += [
            (
                t,
                Context(
                    trigger=t.view,
                    child_events=by_child[t.view.child_id],
                    family_events=family_events,
                    statuses=family_statuses,
                    now=now,
                ),
            )
            for t in group
        ]
    return out
