"""Bringing raised flags in line with the flags a family's facts call for.

Compared per (rule, child): a new pair raises a Flag; new evidence makes a new version (and
puts it back in front of a nurse); nothing changed writes nothing. A flag whose rule no
longer holds is never deleted: unreviewed, it is withdrawn (closed by the service, with the
reason as a system review); once a nurse has looked at it, it stays open marked
`evidence-changed` for a nurse to close. A closed flag reopens only on evidence it did not
have; a withdrawn one whenever its rule holds again.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson

from app.fhir.raised_flag import raised_flag
from app.rules.desired import DEATH_DATE_UNKNOWN, DesiredFlag, Pair
from app.services.writes import WriteContext, WriteRequest
from app.store.models import FlagReview, RaisedFlag

SYSTEM = "wnb"  # who a system review is by


@dataclass
class Change:
    """One flag to write: its row values (`pk` None: a new row) and a system review."""

    pk: int | None
    flag_id: str
    rule_id: str
    child_id: str
    values: dict[str, Any]
    review: tuple[str, str] | None = None  # (action, note)
    kind: str = "updated"  # raised | updated | evidence-changed | withdrawn | reopened


@dataclass(frozen=True)
class Judged:
    """What is known of the flags already raised for the children being reconciled."""

    current: Mapping[Pair, RaisedFlag]  # the open flag, else the latest closed one
    nurse_reviewed: Collection[int]  # flag pks a person has reviewed
    system_noted: Collection[tuple[int, str]]  # (flag pk, action) of the reviews given


def judged(rows: Iterable[RaisedFlag], reviews: Iterable[FlagReview]) -> Judged:
    current: dict[Pair, RaisedFlag] = {}
    for row in sorted(rows, key=lambda r: (r.is_open, r.pk)):
        current[(row.rule_id, row.child_id)] = row  # open last, so it wins
    people = {r.pk for r in current.values() if r.reviewed}
    noted = {(r.flag_pk, r.action) for r in reviews if r.by_kind == "system"}
    return Judged(current, people, noted)


def compare(
    desired: Mapping[Pair, DesiredFlag],
    known: Judged,
    family_of: Mapping[str, str],
    deaths: Mapping[str, datetime],
    explain: Mapping[Pair, str],
    now: datetime,
) -> list[Change]:
    """The changes that make the raised flags match `desired` for the children judged.

    `explain` says, per pair whose evidence shrank or vanished, why (for the system review).
    """
    changes: list[Change] = []
    for pair in sorted(set(desired) | set(known.current)):
        want, row = desired.get(pair), known.current.get(pair)
        died = deaths.get(pair[1])
        if want is not None:
            change = _hold(want, row, known, family_of, now)
        elif row is not None and row.is_open and died is None:
            change = _let_go(row, known, explain.get(pair, ""), now)
        else:
            change = None
        if change is None and row is not None and row.is_open and died is not None:
            # A deceased child's flags are never closed by the service: a nurse decides.
            change = _deceased(row, known, died, now)
        if change is not None:
            changes.append(change)
    return changes


def _values(want: DesiredFlag, family_id: str, now: datetime) -> dict[str, Any]:
    return {
        "rule_version": want.rule_version,
        "priority": want.priority,
        "description": want.description[:500],
        "agencies": " ".join(sorted(want.agencies)),
        "evidence_events": orjson.dumps(sorted(want.events)).decode(),
        "family_children": orjson.dumps(sorted(want.children)).decode(),
        "age_uncertain": want.age_uncertain,
        "family_id": family_id,
        "updated_at": now,
    }


def _hold(
    want: DesiredFlag,
    row: RaisedFlag | None,
    known: Judged,
    family_of: Mapping[str, str],
    now: datetime,
) -> Change | None:
    family_id = family_of.get(want.child_id, want.child_id)
    values = _values(want, family_id, now)
    if row is None:
        return Change(None, str(uuid.uuid4()), want.rule_id, want.child_id, values, kind="raised")
    had = set(orjson.loads(row.evidence_events))
    added, removed = want.events - had, had - want.events
    if not row.is_open:
        if row.state != "withdrawn" and not added:
            return None  # a nurse closed it; a re-send of the evidence it had does not reopen
        reason = f"new evidence: {', '.join(sorted(added))}" if added else "the rule holds again"
        reopened = {**values, "state": "open", "is_open": True, "closed_at": None, "outcome": None}
        return _of(
            row,
            reopened,
            ("reopen", f"Reopened: {reason}."),
            "reopened",
        )
    if _unchanged(row, values):
        return None
    if added:
        # New evidence puts a reviewed flag back in front of a nurse.
        return _of(row, {**values, "state": "open"})
    if removed:
        note = f"Evidence withdrawn: {', '.join(sorted(removed))}; the rule still holds."
        if row.pk in known.nurse_reviewed:
            values["state"] = "evidence-changed"
        return _of(
            row,
            values,
            ("evidence-changed", note),
            "evidence-changed",
        )
    return _of(row, values)


def _let_go(row: RaisedFlag, known: Judged, why: str, now: datetime) -> Change | None:
    reason = why or "the rule no longer holds on the current facts"
    if row.pk in known.nurse_reviewed:
        if row.state == "evidence-changed":
            return None
        note = f"Evidence changed: {reason}. A nurse should decide whether to close it."
        return _of(
            row,
            {"state": "evidence-changed", "updated_at": now},
            ("evidence-changed", note),
            "evidence-changed",
        )
    values = {"state": "withdrawn", "is_open": False, "closed_at": now, "updated_at": now}
    return _of(
        row,
        values,
        ("withdraw", f"Withdrawn: {reason}."),
        "withdrawn",
    )


def _deceased(row: RaisedFlag, known: Judged, died: datetime, now: datetime) -> Change | None:
    if (row.pk, "deceased") in known.system_noted:
        return None  # marked once; a nurse decides what happens next
    when = "date unknown" if died == DEATH_DATE_UNKNOWN else died.date().isoformat()
    note = f"The child is recorded as deceased ({when}): review this flag."
    return _of(
        row,
        {"state": "evidence-changed", "updated_at": now},
        ("deceased", note),
        "evidence-changed",
    )


def _of(
    row: RaisedFlag,
    values: dict[str, Any],
    review: tuple[str, str] | None = None,
    kind: str = "updated",
) -> Change:
    """A change to an existing flag."""
    return Change(row.pk, row.flag_id, row.rule_id, row.child_id, values, review, kind)


def _unchanged(row: RaisedFlag, values: dict[str, Any]) -> bool:
    return all(getattr(row, k) == v for k, v in values.items() if k != "updated_at")


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
        age_uncertain=bool(values.get("age_uncertain")),
    )
    return WriteRequest(type="Flag", data=data, id=flag_id)


def row_values(row: RaisedFlag) -> dict[str, Any]:
    return {
        "rule_version": row.rule_version,
        "priority": row.priority,
        "description": row.description,
        "agencies": row.agencies,
        "evidence_events": row.evidence_events,
        "age_uncertain": row.age_uncertain,
        "family_children": row.family_children,
    }
