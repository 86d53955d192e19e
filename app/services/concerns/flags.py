"""Bringing raised concerns in line with the concerns a family's facts call for.

One concern per child: its reasons are the rules that hold for the child now. Compared per
child: a new child with reasons raises a concern; a reason added or new evidence makes a new
version (and, once a nurse has looked, puts it back in front of her as `evidence-changed`,
saying what changed); nothing changed writes nothing. A concern whose reasons are all gone is
never deleted: unreviewed, it is withdrawn (closed by the service, with the reason as a system
review); once a nurse has looked at it, it stays open marked `evidence-changed` for a nurse to
close. A closed concern reopens only on evidence or a reason it did not have; a withdrawn one
whenever a reason holds again.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from app.fhir.concern_state import ConcernState, state_values
from app.fhir.new_id import time_ordered_uuid
from app.rules.concerns import DesiredConcern
from app.rules.desired import DEATH_DATE_UNKNOWN, DesiredFlag, Pair
from app.services.concerns.concern import Concern
from app.store.models import FlagReview

SYSTEM = "wnb"  # who a system review is by
CONCERN = "wnb-concern"  # the `rule_id` of every concern row (one open row per child)
# The shape of a concern row's values: a row written in another shape (per-rule rows folded
# by migration 0013) differs from every new computation, so its Flag is written again.
CONCERN_FORMAT = 1


@dataclass
class Change:
    """One concern to write: its row values (`pk` None: a new row) and a system review."""

    pk: int | None
    flag_id: str
    child_id: str
    values: dict[str, Any]
    review: tuple[str, str] | None = None  # (action, note)
    kind: str = "updated"  # raised | reason-added | updated | evidence-changed | withdrawn | ...

    @property
    def reasons(self) -> list[dict[str, Any]] | None:
        """The reasons the change stores; None when it leaves the row's reasons as they are
        (then `Judged.reasons` has them)."""
        reasons: list[dict[str, Any]] | None = self.values.get("reasons")
        return reasons


@dataclass(frozen=True)
class Judged:
    """What is known of the concerns already raised for the children being reconciled."""

    current: Mapping[str, Concern]  # child id -> the open concern, else the latest closed
    system_noted: Collection[tuple[int, str]]  # (concern pk, action) of the reviews given
    # child id -> the stored reasons of `current`'s row by rule id, in stored order: parsed
    # once here, since comparing, explaining, writing the Flag and notifying all read them.
    reasons: Mapping[str, dict[str, dict[str, Any]]]

    def had(self, child_id: str) -> dict[str, dict[str, Any]]:
        return self.reasons.get(child_id, {})


def judged(rows: list[Concern], reviews: list[FlagReview]) -> Judged:
    current: dict[str, Concern] = {}
    for row in sorted(rows, key=lambda r: (r.is_open, r.pk or 0)):
        current[row.child_id] = row  # open last, so it wins
    noted = {(r.flag_pk, r.action) for r in reviews if r.by_kind == "system"}
    return Judged(current, noted, {c: row.by_rule() for c, row in current.items()})


def gone_reasons(desired: Mapping[str, DesiredConcern], known: Judged) -> dict[Pair, list[str]]:
    """The reasons of open concerns that no longer hold, with the evidence each had."""
    out: dict[Pair, list[str]] = {}
    for child, row in known.current.items():
        if not row.is_open:
            continue
        want = desired.get(child)
        for rule, reason in known.had(child).items():
            if want is None or rule not in want.reasons:
                out[(rule, child)] = list(reason.get("events", ()))
    return out


def compare(
    desired: Mapping[str, DesiredConcern],
    known: Judged,
    family_of: Mapping[str, str],
    deaths: Mapping[str, datetime],
    explain: Mapping[Pair, str],
    now: datetime,
) -> list[Change]:
    """The changes that make the raised concerns match `desired` for the children judged.

    `explain` says, per (rule, child) whose reason vanished, why (for the system review).
    """
    changes: list[Change] = []
    for child in sorted(set(desired) | set(known.current)):
        want, row = desired.get(child), known.current.get(child)
        died = deaths.get(child)
        had = known.had(child)
        if want is not None and want.reasons:
            change = _hold(want, row, had, family_of, explain, now)
        elif row is not None and row.is_open and died is None:
            change = _let_go(row, had, _why_all(row, had, explain), now)
        else:
            change = None
        if change is None and row is not None and row.is_open and died is not None:
            # A deceased child's concern is never closed by the service: a nurse decides.
            change = _deceased(row, known, died, now)
        if change is not None:
            changes.append(change)
    return changes


def _reason_rows(ordered: list[DesiredFlag]) -> list[dict[str, Any]]:
    """The reasons as the `reasons` column stores them (JSON), highest priority first."""
    return [
        {
            "rule": r.rule_id,
            "version": r.rule_version,
            "priority": r.priority,
            "summary": r.description[:500],
            "agencies": sorted(r.agencies),
            "events": sorted(r.events),
            "children": sorted(r.children),
            "age_uncertain": r.age_uncertain,
        }
        for r in ordered
    ]


def _values(
    want: DesiredConcern,
    ordered: list[DesiredFlag],
    reasons: list[dict[str, Any]],
    family_id: str,
    now: datetime,
) -> dict[str, Any]:
    """The row's values for `want` (`ordered` its reasons, `reasons` them as stored)."""
    return {
        "rule_version": CONCERN_FORMAT,
        "priority": want.priority,
        "description": "; ".join(r.description for r in ordered)[:500],
        "agencies": " ".join(sorted(want.agencies))[:255],
        "evidence_events": sorted(want.events),
        "family_children": sorted(want.children),
        "reasons": reasons,
        "reason_rules": f" {' '.join(sorted(want.reasons))} ",
        "age_uncertain": want.age_uncertain,
        "family_id": family_id,
        "updated_at": now,
    }


def _what_changed(
    row: Concern,
    had: Mapping[str, dict[str, Any]],
    want: DesiredConcern,
    ordered: list[DesiredFlag],
    explain: Mapping[Pair, str],
) -> tuple[list[str], set[str]]:
    """What changed since the stored concern (`had` its reasons), in words; and the
    evidence added."""
    had_events = set(row.evidence_events)
    said = [f"reason added: {r.description}" for r in ordered if r.rule_id not in had]
    said += [
        f"reason gone: {reason.get('summary') or rule}"
        + (f" ({why})" if (why := explain.get((rule, row.child_id))) else "")
        for rule, reason in sorted(had.items())
        if rule not in want.reasons
    ]
    added = want.events - had_events
    removed = had_events - want.events
    if added:
        said.append(f"new evidence: {', '.join(sorted(added))}")
    if removed:
        said.append(f"evidence withdrawn: {', '.join(sorted(removed))}")
    return said, added


def _hold(
    want: DesiredConcern,
    row: Concern | None,
    had: Mapping[str, dict[str, Any]],
    family_of: Mapping[str, str],
    explain: Mapping[Pair, str],
    now: datetime,
) -> Change | None:
    family_id = family_of.get(want.child_id, want.child_id)
    ordered = want.ordered()
    reasons = _reason_rows(ordered)
    values = _values(want, ordered, reasons, family_id, now)
    if row is None:
        return Change(None, str(time_ordered_uuid()), want.child_id, values, kind="raised")
    return _changed(want, ordered, values, row, had, explain)


def _changed(
    want: DesiredConcern,
    ordered: list[DesiredFlag],
    values: dict[str, Any],
    row: Concern,
    had: Mapping[str, dict[str, Any]],
    explain: Mapping[Pair, str],
) -> Change | None:
    """The change, if any, that brings an existing concern to `values`."""
    said, added = _what_changed(row, had, want, ordered, explain)
    new_rules = set(want.reasons) - set(had)
    if not row.is_open:
        if row.state != ConcernState.WITHDRAWN and not added and not new_rules:
            return None  # a nurse closed it; a re-send of what it had does not reopen it
        reason = "; ".join(said) if said else "a reason holds again"
        reopened = {
            **values,
            **state_values(ConcernState.OPEN),
            "closed_at": None,
            "outcome": None,
        }
        return _of(row, reopened, ("reopen", f"Reopened: {reason}."), "reopened")
    if _unchanged(row, values):
        return None
    if not said:
        return _of(row, values)  # wording, family or format only
    note = ("evidence-changed", f"Evidence changed: {'; '.join(said)}.")
    # A rule it did not hold is news for every agency it concerns, reviewed or not.
    kind = "reason-added" if new_rules else "evidence-changed"
    if row.reviewed:
        # A nurse has looked: anything she did not see brings it back to her.
        values["state"] = ConcernState.EVIDENCE_CHANGED
        return _of(row, values, note, kind)
    if new_rules or set(had) - set(want.reasons):
        return _of(row, values, note, kind if new_rules else "updated")
    return _of(row, values)  # more evidence for the same reasons, not yet looked at


def _why_all(row: Concern, had: Mapping[str, dict[str, Any]], explain: Mapping[Pair, str]) -> str:
    whys = [explain.get((rule, row.child_id), "") for rule in sorted(had)]
    return "; ".join(dict.fromkeys(w for w in whys if w))


def _let_go(
    row: Concern, had: Mapping[str, dict[str, Any]], why: str, now: datetime
) -> Change | None:
    reason = why or "no rule holds on the current facts"
    if row.reviewed:
        if row.state == ConcernState.EVIDENCE_CHANGED and not had:
            return None
        note = f"Evidence changed: {reason}. A nurse should decide whether to close it."
        # No reason holds, so no agency is concerned now: with `agencies` cleared none may
        # read or search it, nor is told of it again (those who had a reason are told this
        # once, see `flag_events`). Its evidence stays for the nurse who decides.
        values = {
            "state": ConcernState.EVIDENCE_CHANGED,
            "updated_at": now,
            "reasons": [],
            "reason_rules": " ",
            "agencies": "",
        }
        return _of(row, values, ("evidence-changed", note), "evidence-changed")
    values = {**state_values(ConcernState.WITHDRAWN), "closed_at": now, "updated_at": now}
    return _of(row, values, ("withdraw", f"Withdrawn: {reason}."), "withdrawn")


def _deceased(row: Concern, known: Judged, died: datetime, now: datetime) -> Change | None:
    if (row.pk, "deceased") in known.system_noted:
        return None  # marked once; a nurse decides what happens next
    when = "date unknown" if died == DEATH_DATE_UNKNOWN else died.date().isoformat()
    note = f"The child is recorded as deceased ({when}): review this concern."
    return _of(
        row,
        {"state": ConcernState.EVIDENCE_CHANGED, "updated_at": now},
        ("deceased", note),
        "evidence-changed",
    )


def _of(
    row: Concern,
    values: dict[str, Any],
    review: tuple[str, str] | None = None,
    kind: str = "updated",
) -> Change:
    """A change to an existing concern."""
    return Change(row.pk, row.flag_id, row.child_id, values, review, kind)


def _unchanged(row: Concern, values: dict[str, Any]) -> bool:
    return all(getattr(row, k) == v for k, v in values.items() if k != "updated_at")
