"""Backtesting a rule file: what it would have flagged in the stored history, and how that
differs from the rules in force. Read-only: nothing is raised, scheduled or written.

Which rules are compared: each rule of the new file against the rule of the same id in force
(none for a new id, so all its pairs are added). Rules in force that the file does not mention
are left out, so a file holding one changed rule reports that rule only; to see what switching
a rule off does, give it with `enabled: false`. A rule that flags exactly as the one in force
(only its wording, version, priority or agencies differ) is replayed once, for both sides.
"""

from __future__ import annotations

import heapq
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from app.rules import (
    FiringDiff,
    Rule,
    RuleSet,
    StatusView,
    TimedFiring,
    backtest,
    diff,
    load_rules_text,
)
from app.services.concerns.event_views import event_view
from app.services.concerns.family_facts import surviving_records
from app.store import backtest_repo, reconcile_repo

Pair = tuple[str, str]  # (rule id, child id)
# Fields that change what a firing says, never which (rule, child) pairs it flags (a set, as
# model_dump's exclude takes).
WORDING = {"version", "description", "summary", "priority", "agencies"}
POSTED_NAME = "posted-rules.yaml"  # what the loader's messages call a rule file sent in


@dataclass(frozen=True, slots=True)
class ReportedFiring:
    """One child one rule would have flagged: when, on which trigger, on what evidence."""

    rule_id: str
    rule_version: int
    child_id: str
    at: datetime  # when the flag would have been raised (a time-based rule: window closed)
    trigger_event: str  # "Appointment/id"
    trigger_at: datetime
    evidence: tuple[str, ...]
    description: str
    priority: str


@dataclass(frozen=True, slots=True)
class RuleCount:
    """Firings (per child) and distinct children of one rule: new file and in force."""

    rule_id: str
    version: int
    enabled: bool
    firings: int
    children: int
    in_force_version: int | None  # None: a new rule
    in_force_firings: int
    in_force_children: int


@dataclass(frozen=True)
class BacktestReport:
    since: datetime | None
    now: datetime
    families: int
    events: int  # children's events read (with `since`: from the rules' reach before it)
    found: list[TimedFiring]  # the new rules' firings, in no order
    firings_total: int  # firings counted once per child flagged
    counts: list[RuleCount]
    # (rule, child) pairs of the rules that flag differently from those in force (or are new).
    diff: FiringDiff
    same_pairs: int  # pairs of the rules that flag exactly as in force: kept, not compared
    seconds: float
    _listed: dict[int | None, list[ReportedFiring]] = field(
        default_factory=dict, repr=False, compare=False
    )

    @property
    def kept(self) -> int:
        """(rule, child) pairs flagged both by the new rules and by the rules in force."""
        return len(self.diff.kept) + self.same_pairs

    def firings(self, limit: int | None = None) -> list[ReportedFiring]:
        """The first `limit` (all: None) firings by time, rule, children, one per child."""
        if limit not in self._listed:
            # Sorting a million firings to list a hundred is most of the cost: take the least.
            ordered = (
                sorted(self.found, key=_order)
                if limit is None
                else heapq.nsmallest(limit, self.found, key=_order)
            )
            listed = [reported for t in ordered for reported in _per_child(t)]
            self._listed[limit] = listed if limit is None else listed[:limit]
        return self._listed[limit]

    def patient_refs(self, limit: int | None = None) -> list[str]:
        """The children a report (firings up to `limit`, and the diff) names."""
        ids = {f.child_id for f in self.firings(limit)}
        ids.update(child for _, child in (*self.diff.added, *self.diff.removed))
        return [f"Patient/{i}" for i in sorted(ids)]


def load_posted(text: str) -> RuleSet:
    """Load a rule file sent as text, through the same loader as the files on disk, so it
    fails with the same one-line message (file, rule, field); the file is `POSTED_NAME`."""
    return load_rules_text(text, POSTED_NAME)


def run(
    session: Session,
    new_rules: RuleSet,
    current_rules: RuleSet | None,
    since: datetime | None,
    now: datetime,
) -> BacktestReport:
    """Replay every family's history through `new_rules` and the rules of the same ids in
    `current_rules` (None: nothing in force), keeping firings from `since` up to `now`."""
    started = time.perf_counter()
    in_force = {r.id: r for r in current_rules.rules} if current_rules is not None else {}
    compared = [in_force[r.id] for r in new_rules.rules if r.id in in_force]
    # A rule that flags exactly as the one in force (only its wording, version, priority or
    # agencies changed) is replayed once, and its result stands for both sides.
    same = {r.id for r in compared if _same_effect(r, new_rules.rule(r.id))}
    changed = RuleSet([r for r in compared if r.id not in same])
    # Older events cannot touch a firing at or after `since`: each rule looks back at most
    # its window plus its follow-up period (a day's margin for instants within the day).
    reach = timedelta(days=max(new_rules.lookback_days(), changed.lookback_days()) + 1)
    read_from = None if since is None else since - reach
    # Merged records count as their surviving record, as in live reconciliation.
    direct = reconcile_repo.all_aliases(session)
    merged = surviving_records(direct, direct)
    statuses = {
        family: [
            StatusView(merged.get(s.child_id, s.child_id), s.status, s.start, s.end, s.start_stated)
            for s in rows
        ]
        for family, rows in backtest_repo.statuses_by_family(session).items()
    }
    found: list[TimedFiring] = []
    old: list[TimedFiring] = []
    families = events = 0
    for family_id, rows in backtest_repo.child_events_by_family(session, read_from):
        views = {
            family_id: [event_view(row, merged.get(row.child_id, row.child_id)) for row in rows]
        }
        held = {family_id: statuses.get(family_id, [])}
        families += 1
        events += len(views[family_id])
        found += backtest(new_rules, views, held, since, now=now)
        if changed.plans:
            old += backtest(changed, views, held, since, now=now)
    new_tally, old_tally = _tally(found), _tally(old)
    for rule_id in same:
        old_tally[rule_id] = new_tally.get(rule_id, (0, set()))
    return BacktestReport(
        since=since,
        now=now,
        families=families,
        events=events,
        found=found,
        firings_total=sum(n for n, _ in new_tally.values()),
        counts=_counts(new_rules.rules, in_force, new_tally, old_tally),
        diff=diff(_pairs(new_tally, but=same), _pairs(old_tally, but=same)),
        same_pairs=sum(len(children) for r, (_, children) in new_tally.items() if r in same),
        seconds=time.perf_counter() - started,
    )


def _order(t: TimedFiring) -> tuple[Any, ...]:
    return t.at, t.firing.rule_id, t.firing.child_ids, t.trigger_at


def _same_effect(a: Rule, b: Rule) -> bool:
    return a.model_dump(exclude=WORDING) == b.model_dump(exclude=WORDING)


def _per_child(t: TimedFiring) -> Iterator[ReportedFiring]:
    f = t.firing
    for child in f.child_ids:
        yield ReportedFiring(
            rule_id=f.rule_id,
            rule_version=f.rule_version,
            child_id=child,
            at=t.at,
            trigger_event=f.trigger_event_id,
            trigger_at=t.trigger_at,
            evidence=f.evidence_event_ids,
            description=f.description,
            priority=f.priority,
        )


Tally = dict[str, tuple[int, set[str]]]  # rule id -> (firings per child, children)


def _tally(found: list[TimedFiring]) -> Tally:
    tally: Tally = {}
    for t in found:
        f = t.firing
        n, children = tally.get(f.rule_id) or (0, set())
        children.update(f.child_ids)
        tally[f.rule_id] = (n + len(f.child_ids), children)
    return tally


def _pairs(tally: Tally, but: set[str]) -> set[Pair]:
    return {(r, child) for r, (_, children) in tally.items() if r not in but for child in children}


def _counts(
    rules: Sequence[Rule], in_force: dict[str, Rule], new: Tally, old: Tally
) -> list[RuleCount]:
    counts = []
    for rule in rules:
        n, children = new.get(rule.id, (0, set()))
        m, before = old.get(rule.id, (0, set()))
        current = in_force.get(rule.id)
        counts.append(
            RuleCount(
                rule_id=rule.id,
                version=rule.version,
                enabled=rule.enabled,
                firings=n,
                children=len(children),
                in_force_version=current.version if current else None,
                in_force_firings=m,
                in_force_children=len(before),
            )
        )
    return counts
