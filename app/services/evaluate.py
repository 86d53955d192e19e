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
    families = family_repo.families_of(session, {t.view.child_id for t in triggers})
    by_family: dict[str, list[Trigger]] = defaultdict(list)
    for t in triggers:
        by_family[families[t.view.child_id]].append(t)
    for family_id, group in by_family.items():
        events_repo.set_family(session, [t.event_pk for t in group], family_id)
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
    for family_id, group in sorted(judged.items()):
        for trigger, context in _contexts(session, rules, family_id, group, ctx.now):
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
    firings: list[Firing] = []
    for row in claimed:
        trigger = Trigger(row.pk, view_of(row))
        family_id = families.get(row.child_id, row.child_id)
        for _, context in _contexts(session, rules, family_id, [trigger], ctx.now):
            firings += rules.evaluate_due(context, rule_ids=[row.rule_id])
    rules_repo.done(session, [row.check_pk for row in claimed])
    return len(claimed), raise_flags(session, firings, families, ctx)


def _contexts(
    session: Session, rules: RuleSet, family_id: str, triggers: list[Trigger], now: datetime
) -> list[tuple[Trigger, Context]]:
    kids = family_repo.members(session, [family_id]).get(family_id) or sorted(
        {t.view.child_id for t in triggers}
    )
    reach = timedelta(days=rules.lookback_days())
    rows = rules_repo.events_between(
        session,
        kids,
        min(t.view.at for t in triggers) - reach,
        max(t.view.at for t in triggers) + reach,
    )
    views = [view_of(r) for r in rows]
    by_child: dict[str, list[EventView]] = defaultdict(list)
    for v in views:
        by_child[v.child_id].append(v)
    statuses = (
        [
            StatusView(child_id=s.child_id, status=s.status, start=s.start, end=s.end)
            for s in rules_repo.statuses_of(session, kids)
        ]
        if rules.uses_statuses()
        else []
    )
    return [
        (
            t,
            Context(
                trigger=t.view,
                child_events=by_child[t.view.child_id],
                family_events=views,
                statuses=statuses,
                now=now,
            ),
        )
        for t in triggers
    ]
