"""Raising flags from rule firings: one open flag per rule and child; new evidence updates it."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy.orm import Session

from app.fhir.raised_flag import raised_flag
from app.rules import Firing
from app.services.writes import WriteContext, WriteRequest
from app.store import family_repo, flags_repo, rules_repo
from app.store.models import RaisedFlag


@dataclass
class Merged:
    """Every firing of one rule for one child in this unit of work."""

    rule_id: str
    rule_version: int
    child_id: str
    priority: str
    description: str
    agencies: set[str] = field(default_factory=set)
    events: set[str] = field(default_factory=set)
    children: set[str] = field(default_factory=set)


def merge(firings: Iterable[Firing]) -> dict[tuple[str, str], Merged]:
    out: dict[tuple[str, str], Merged] = {}
    for f in firings:
        for child in f.child_ids:
            m = out.setdefault(
                (f.rule_id, child),
                Merged(f.rule_id, f.rule_version, child, f.priority, f.description),
            )
            m.events.update(f.evidence_event_ids)
            m.children.update(f.child_ids)
            m.agencies.update(f.agencies)
            m.description = f.description  # the latest wording counts the most evidence
    return out


def raise_flags(
    session: Session, firings: list[Firing], families: dict[str, str], ctx: WriteContext
) -> list[WriteRequest]:
    merged = merge(firings)
    if not merged or ctx.rules is None:
        return []
    existing = flags_repo.open_flags(session, merged)
    # The family of every child to flag, siblings included, not only of the triggers' children.
    families = {
        **families,
        **family_repo.families_of(session, {m.child_id for m in merged.values()} - set(families)),
    }
    facts = rules_repo.event_facts(session, {e for m in merged.values() for e in m.events})
    writes: list[WriteRequest] = []
    added: list[dict[str, Any]] = []
    changed: list[dict[str, Any]] = []
    for key, m in sorted(merged.items()):
        rule = ctx.rules.rule(m.rule_id)
        row = existing.get(key)
        events = m.events | set(orjson.loads(row.evidence_events)) if row else m.events
        children = m.children | set(orjson.loads(row.family_children)) if row else m.children
        if row is not None and _nothing_new(row, events, children, m):
            continue  # the same evidence again: no new Flag version, no change of state
        own = sorted(
            (facts[e] for e in events if e in facts and facts[e].child_id == m.child_id),
            key=lambda f: f.event_at,
        )
        times = [facts[e].event_at for e in events if e in facts] or [ctx.now]
        values: dict[str, Any] = {
            "rule_version": m.rule_version,
            "priority": m.priority,
            "description": m.description[:500],
            "agencies": " ".join(sorted(m.agencies)),
            "evidence_events": orjson.dumps(sorted(events)).decode(),
            "family_children": orjson.dumps(sorted(children)).decode(),
            "first_event_at": min(times),
            "last_event_at": max(times),
            "updated_at": ctx.now,
        }
        if row is None:
            flag_id = str(uuid.uuid4())
            added.append(
                {
                    **values,
                    "flag_id": flag_id,
                    "rule_id": m.rule_id,
                    "child_id": m.child_id,
                    "family_id": families.get(m.child_id, m.child_id),
                    "state": "open",
                    "is_open": True,
                    "opened_at": ctx.now,
                    "organisation": own[-1].organisation if own else None,
                    "age_days": own[-1].age_days if own else None,
                }
            )
            opened, state, outcome = ctx.now, "open", None
        else:
            # New evidence on an acknowledged flag puts it back in front of a nurse.
            state, outcome = "open", row.outcome
            changed.append({"pk": row.pk, **values, "state": state})
            flag_id, opened = row.flag_id, row.opened_at
        writes.append(
            flag_write(
                ctx,
                flag_id,
                m.rule_id,
                rule.description,
                values,
                m.child_id,
                opened,
                None,
                state,
                outcome,
            )
        )
    flags_repo.add_many(session, added)
    flags_repo.change_many(session, changed)
    return writes


def flag_write(
    ctx: WriteContext,
    flag_id: str,
    rule_id: str,
    rule_description: str,
    values: dict[str, Any],
    child_id: str,
    opened: datetime,
    closed: datetime | None,
    state: str,
    outcome: str | None,
) -> WriteRequest:
    terms = ctx.terms
    data = raised_flag(
        canonical=terms.canonical_base,
        rule_system=terms.rule_system,
        flag_id=flag_id,
        rule_id=rule_id,
        rule_version=values["rule_version"],
        description=" ".join(rule_description.split()),
        summary=values["description"],
        priority=values["priority"],
        child_id=child_id,
        opened_at=opened,
        closed_at=closed,
        events=orjson.loads(values["evidence_events"]),
        family=orjson.loads(values["family_children"]),
        agencies=values["agencies"].split(),
        state=state,
        outcome=outcome,
    )
    return WriteRequest(type="Flag", data=data, id=flag_id)


def row_values(row: RaisedFlag) -> dict[str, Any]:
    return {
        "rule_version": row.rule_version,
        "priority": row.priority,
        "description": row.description,
        "agencies": row.agencies,
        "evidence_events": row.evidence_events,
        "family_children": row.family_children,
    }


def _nothing_new(row: RaisedFlag, events: set[str], children: set[str], m: Merged) -> bool:
    return (
        len(events) == len(orjson.loads(row.evidence_events))
        and len(children) == len(orjson.loads(row.family_children))
        and row.rule_version == m.rule_version
        and row.description == m.description[:500]
    )
