"""Reconciling families: their flags become what the rules say about their current facts.

Called with the patients whose facts changed. Each family holding one is locked (and its
membership read again under the lock, so a concurrent link or split is never judged blind),
its whole history judged by `desired_flags`, and its flags raised, updated, withdrawn or
marked for a nurse. The time-based rules' next deadline is left as a durable mark.
"""

from __future__ import annotations

import hashlib
import logging
from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from app.rules import RuleSet
from app.rules.desired import DesiredFlag, Pair, desired_flags, next_due
from app.services import family_facts, flags
from app.services.consequences import take_touched
from app.services.ingest import write_resources
from app.services.writes import WriteContext
from app.store import family_repo, flags_repo, reconcile_repo, rules_repo

log = logging.getLogger("wnb.reconcile")
RULES_KEY = "rules-fingerprint"
LOCK_ROUNDS = 10


def reconcile(session: Session, patient_ids: Iterable[str], ctx: WriteContext) -> int:
    """Bring the flags of every family holding one of `patient_ids` in line with its facts.
    Flushes only. Returns how many families were judged."""
    rules, wanted = ctx.rules, set(patient_ids)
    if rules is None or not wanted:
        return 0
    members = _locked_families(session, wanted)
    everyone = wanted | {p for group in members.values() for p in group}
    loaded = family_facts.load(session, members, rules.uses_statuses())
    reconcile_repo.clear(session, everyone)
    desired: dict[Pair, DesiredFlag] = {}
    family_of: dict[str, str] = {}
    deaths: dict[str, datetime] = {}
    due: dict[datetime, list[str]] = defaultdict(list)
    for family_id, facts in loaded.facts.items():
        desired.update(desired_flags(rules, facts, ctx.now))
        deaths.update(facts.deaths)
        for p in members[family_id]:
            family_of[p] = family_of[loaded.canonical.get(p, p)] = family_id
        at = next_due(rules, facts.events, ctx.now)
        if at is not None and members[family_id]:
            due[at].append(members[family_id][0])
    for at, patients in due.items():
        reconcile_repo.mark(session, patients, at)
    rows = flags_repo.flags_of_children(session, everyone)
    known = flags.judged(rows, flags_repo.reviews_of(session, [r.pk for r in rows]))
    explain = _explain(session, desired, known, loaded.canonical)
    changes = flags.compare(desired, known, family_of, deaths, explain, ctx.now)
    if changes:
        _apply(session, changes, known, rules, ctx)
    return len(members)


def settle(session: Session, ctx: WriteContext, inline: bool = True) -> None:
    """Reconcile the families a unit of work touched, before it commits (read your writes).

    Runs in a savepoint: if reconciliation fails for any reason but the database's own (a
    lock or unique-key race, which the unit of work retries whole), the facts still commit
    with a durable mark, and the worker finishes the job. `inline` False defers every
    reconciliation to the worker (bulk loads)."""
    touched = take_touched(session)
    if not touched or ctx.rules is None:
        return
    if inline:
        try:
            with session.begin_nested():
                reconcile(session, touched, ctx)
            return
        except DBAPIError:
            raise
        except Exception as exc:
            # The type only: a message could carry a child's data.
            log.error(
                "reconciling %d patient(s) failed (%s); left to the worker",
                len(touched),
                type(exc).__name__,
            )
    reconcile_repo.mark(session, touched, ctx.now)


def reconcile_due(session: Session, ctx: WriteContext, limit: int) -> int:
    """Reconcile the families of patients whose mark is due (left by a write whose
    reconciliation did not finish, a new rules version, or a time-based deadline)."""
    claimed = reconcile_repo.claim_due(session, ctx.now, limit)
    if claimed:
        reconcile(session, claimed, ctx)
    return len(claimed)


def rules_fingerprint(rules: RuleSet) -> str:
    dumped = [r.model_dump(mode="json") for r in rules.rules]
    return hashlib.sha256(orjson.dumps(dumped, option=orjson.OPT_SORT_KEYS)).hexdigest()


def note_rules_version(session: Session, rules: RuleSet | None, now: datetime) -> int:
    """When the rules in force differ from those last applied, mark every child with events
    so the worker re-judges every family in the background. Returns how many were marked."""
    if rules is None:
        return 0
    fingerprint = rules_fingerprint(rules)
    if reconcile_repo.state_value(session, RULES_KEY) == fingerprint:
        return 0
    marked = reconcile_repo.mark_every_child(session, now)
    reconcile_repo.set_state_value(session, RULES_KEY, fingerprint)
    return marked


def _locked_families(session: Session, wanted: set[str]) -> dict[str, list[str]]:
    families = family_repo.families_of(session, wanted)
    for _ in range(LOCK_ROUNDS):
        family_repo.lock(session, families.values())
        again = family_repo.families_of(session, wanted)
        if again == families:
            break
        families = again  # a concurrent link or split moved someone: lock where they are now
    return family_repo.members(session, families.values())


def _explain(
    session: Session,
    desired: dict[Pair, DesiredFlag],
    known: flags.Judged,
    canonical: dict[str, str],
) -> dict[Pair, str]:
    """Why each open flag that no longer holds stopped holding, in words for its history."""
    gone = {pair: row for pair, row in known.current.items() if row.is_open and pair not in desired}
    refs = {e for row in gone.values() for e in orjson.loads(row.evidence_events)}
    facts = rules_repo.event_facts(session, refs)
    out: dict[Pair, str] = {}
    for pair, row in gone.items():
        child = pair[1]
        if canonical.get(child, child) != child:
            out[pair] = f"the record was merged into Patient/{canonical[child]}"
            continue
        said = []
        for ref in orjson.loads(row.evidence_events):
            event = facts.get(ref)
            if event is None:
                said.append(f"{ref} is no longer a coded outcome")
            elif not event.is_child:
                said.append(f"{ref} is no longer a child's appointment")
            else:
                said.append(f"{ref} is now {event.category}")
        out[pair] = "; ".join(said) + " (or a status, family link or rule changed)"
    return out


def _apply(
    session: Session,
    changes: list[flags.Change],
    known: flags.Judged,
    rules: RuleSet,
    ctx: WriteContext,
) -> None:
    refs = {e for c in changes for e in orjson.loads(c.values.get("evidence_events", "[]"))}
    facts = rules_repo.event_facts(session, refs)
    added: list[dict[str, Any]] = []
    updated: dict[tuple[str, ...], list[dict[str, Any]]] = defaultdict(list)
    writes = []
    for c in changes:
        row = known.current.get((c.rule_id, c.child_id))
        values = dict(c.values)
        if "evidence_events" in values:
            times = [
                facts[e].event_at for e in orjson.loads(values["evidence_events"]) if e in facts
            ]
            values["first_event_at"] = min(times, default=ctx.now)
            values["last_event_at"] = max(times, default=ctx.now)
        if row is None:
            own = sorted(
                (facts[e] for e in orjson.loads(values["evidence_events"]) if e in facts),
                key=lambda f: f.event_at,
            )
            values.update(
                flag_id=c.flag_id,
                rule_id=c.rule_id,
                child_id=c.child_id,
                state="open",
                is_open=True,
                opened_at=ctx.now,
                closed_at=None,
                outcome=None,
                organisation=own[-1].organisation if own else None,
                age_days=own[-1].age_days if own else None,
            )
            added.append(values)
        else:
            updated[tuple(sorted(values))].append({"pk": row.pk, **values})
        writes.append(_flag_request(c, row, values, rules, ctx))
    flags_repo.add_many(session, added)
    for group in updated.values():
        flags_repo.change_many(session, group)
    results = write_resources(session, writes, ctx, follow_on=False)
    version = {r.id: r.version for r in results}
    pks = flags_repo.pks_of(session, [c.flag_id for c in changes if c.review])
    for c in changes:
        if c.review is not None:
            flags_repo.add_review(
                session,
                {
                    "flag_pk": pks[c.flag_id],
                    "at": ctx.now,
                    "by_kind": "system",
                    "by_id": flags.SYSTEM,
                    "action": c.review[0],
                    "outcome": None,
                    "note": c.review[1],
                    "flag_version": version[c.flag_id],
                },
            )


def _flag_request(
    c: flags.Change,
    row: Any,
    values: dict[str, Any],
    rules: RuleSet,
    ctx: WriteContext,
) -> Any:
    merged = {**(flags.row_values(row) if row is not None else {}), **values}
    try:
        description = rules.rule(c.rule_id).description
    except KeyError:  # a rule no longer in force: its flags are still written
        description = merged["description"]
    state = merged.get("state", row.state if row is not None else "open")
    closed = merged.get("closed_at", row.closed_at if row else None)
    opened = row.opened_at if row is not None else ctx.now
    outcome = merged.get("outcome", row.outcome if row is not None else None)
    return flags.flag_write(
        ctx, c.flag_id, c.rule_id, description, merged, c.child_id, opened, closed, state, outcome
    )
