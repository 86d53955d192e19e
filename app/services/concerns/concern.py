"""A concern as one typed value: what reconciliation judges, a review changes and the FHIR Flag
renders, read once from its stored row.

Frozen: a change is a new value (`changed`), so the values a reconciliation compared are the
values it writes and renders, with no copy of the row's columns passed along beside it. Its
state is a `ConcernState` and whether it is open follows from the state alone; the stored
`is_open` column is written from it (`columns`), never set apart."""

from __future__ import annotations

from collections.abc import Mapping
from contextlib import suppress
from dataclasses import dataclass, fields, replace
from datetime import datetime
from typing import Any

from app.fhir.concern_state import ConcernState
from app.fhir.raised_flag import Reason, raised_flag
from app.services.common.writes import WriteContext, WriteRequest


@dataclass(frozen=True, slots=True)
class Concern:
    """One child's concern, as its `raised_flag` row holds it (`pk` None: not stored yet)."""

    pk: int | None
    flag_id: str
    rule_id: str
    rule_version: int
    child_id: str
    family_id: str
    priority: str
    state: ConcernState
    description: str
    agencies: str  # space-separated, as stored
    evidence_events: list[str]  # "Type/id" of the events it rests on
    family_children: list[str]  # the Patient ids involved
    organisation: str | None
    age_days: int | None
    first_event_at: datetime
    last_event_at: datetime
    opened_at: datetime
    updated_at: datetime
    closed_at: datetime | None
    outcome: str | None
    reviewed: bool  # a person has looked: never withdrawn by the service
    age_uncertain: bool
    reasons: list[dict[str, Any]]  # rule, version, priority, summary, agencies, events, ...
    reason_rules: str

    @property
    def is_open(self) -> bool:
        return self.state.is_open

    @classmethod
    def of(cls, row: Any) -> Concern:
        """From a stored row: a `RaisedFlag` entity or a plain row of its columns."""
        values = {name: getattr(row, name) for name in _FIELDS}
        values["state"] = ConcernState(values["state"])
        values["reasons"] = values["reasons"] or []
        values["reviewed"] = bool(values["reviewed"])
        values["age_uncertain"] = bool(values["age_uncertain"])
        return cls(**values)

    @classmethod
    def new(cls, columns: Mapping[str, Any]) -> Concern:
        """A concern not stored yet, from every column's value (`is_open` aside)."""
        return cls(pk=None, reviewed=False, **_fields_of(columns))

    def changed(self, columns: Mapping[str, Any]) -> Concern:
        """This concern as the column values given leave it."""
        return replace(self, **_fields_of(columns))

    def by_rule(self) -> dict[str, dict[str, Any]]:
        """Its reasons by rule id, in stored order."""
        return {r["rule"]: r for r in self.reasons}

    def flag(self, ctx: WriteContext) -> WriteRequest:
        """Its FHIR Flag. A reason's title is its rule's description while the rule is in
        force, else the summary stored with the reason."""
        rules = ctx.rules
        reasons = []
        for r in self.reasons:
            title = r["summary"]
            # A rule no longer in force (KeyError): its reason is still written.
            with suppress(KeyError):
                if rules is not None:
                    title = " ".join(rules.rule(r["rule"]).description.split())
            reasons.append(Reason(**r, title=title))
        data = raised_flag(
            canonical=ctx.terms.canonical_base,
            rule_system=ctx.terms.rule_system,
            flag_id=self.flag_id,
            summary=self.description,
            priority=self.priority,
            child_id=self.child_id,
            opened_at=self.opened_at,
            closed_at=self.closed_at,
            events=self.evidence_events,
            family=self.family_children,
            agencies=self.agencies.split(),
            reasons=reasons,
            state=self.state,
            outcome=self.outcome,
            age_uncertain=self.age_uncertain,
        )
        return WriteRequest(type="Flag", data=data, id=self.flag_id)


_FIELDS = tuple(f.name for f in fields(Concern))


def _fields_of(columns: Mapping[str, Any]) -> dict[str, Any]:
    """Column values as fields: `is_open` is derived, and the state typed."""
    out = {k: v for k, v in columns.items() if k != "is_open"}
    if "state" in out:
        out["state"] = ConcernState(out["state"])
    return out
