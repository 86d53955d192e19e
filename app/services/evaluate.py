"""Evaluating trigger rules for new coded events (at ingest, same transaction) and for
time-based checks that have come due (the worker). Each family is locked while it is judged,
so two siblings' events are never judged blind to each other."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from app.rules import Context, EventView, Firing, RuleSet, StatusView
from app.services.flags import raise_flags
from app.services.writes import WriteContext, WriteRequest
from app.store import family_repo, rules_repo
from app.store.models import CodedEvent


def view(e: CodedEvent) -> EventView:
    return EventView(
        event_id=f"{e.resource_type}/{e.resource_id}",
        child_id=e.child_id,
        at=e.event_at,
        category=e.category,
        service_code=e.service_code,
        age_days=e.age_days,
    )


def evaluate_events(
    session: Session, events: Sequence[CodedEvent], ctx: WriteContext
) -> list[WriteRequest]:
    """Run the ingest-time rules for these (flushed) events; schedule the time-based ones.
    Returns the Flag writes that raise or update flags."""
    rules = ctx.rules
    children = [e for e in events if e.is_child]
    if rules is None or not children:
        return []
    families = family_repo.families_of(session, [e.child_id for e in children])
    family_repo.lock(session, families.values())
    by_family: dict[str, list[CodedEvent]] = defaultdict(list)
    for e in children:
        by_family[families.get(e.child_id, e.child_id)].append(e)
    firings: list[Firing] = []
    due: list[dict[str, object]] = []
    for family_id, triggers in sorted(by_family.items()):
        for trigger, context in _contexts(session, rules, family_id, triggers, ctx.now):
            firings += rules.evaluate(context)
            for rule_id, at in rules.due_times(context.trigger).items():
                if at > ctx.now:
                    due.append({"event_pk": trigger.pk, "rule_id": rule_id, "due_at": at})
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
    families = family_repo.families_of(session, [e.child_id for _, e in claimed])
    family_repo.lock(session, families.values())
    firings: list[Firing] = []
    for check, event in claimed:
        family_id = families.get(event.child_id, event.child_id)
        for _, context in _contexts(session, rules, family_id, [event], ctx.now):
            firings += rules.evaluate_due(context, rule_ids=[check.rule_id])
    rules_repo.done(session, [check.pk for check, _ in claimed])
    return len(claimed), raise_flags(session, firings, families, ctx)


def _contexts(
    session: Session, rules: RuleSet, family_id: str, triggers: list[CodedEvent], now: datetime
) -> list[tuple[CodedEvent, Context]]:
    kids = family_repo.members(session, [family_id]).get(family_id) or sorted(
        {t.child_id for t in triggers}
    )
    reach = timedelta(days=rules.lookback_days())
    rows = rules_repo.events_between(
        session,
        kids,
        min(t.event_at for t in triggers) - reach,
        max(t.event_at for t in triggers) + reach,
    )
    views = [view(r) for r in rows]
    by_child: dict[str, list[EventView]] = defaultdict(list)
    for v in views:
        by_child[v.child_id].append(v)
    statuses = [
        StatusView(child_id=s.child_id, status=s.status, start=s.start, end=s.end)
        for s in rules_repo.statuses_of(session, kids)
    ]
    return [
        (
            t,
            Context(
                trigger=view(t),
                child_events=by_child[t.child_id],
                family_events=views,
                statuses=statuses,
                now=now,
            ),
        )
        for t in triggers
    ]
