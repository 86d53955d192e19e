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

from app.fhir.concern_state import ConcernState, state_values
from app.notify.outbox import enqueue_flag_events
from app.rules import RuleSet
from app.rules.concerns import desired_concerns
from app.rules.desired import DesiredFlag, Pair, desired_flags, next_due
from app.services.common.unit_of_work import take_touched, unit_of
from app.services.common.writes import WriteContext
from app.services.concerns import family_facts, flags, large_families, withdrawal_reasons
from app.services.concerns.concern import Concern
from app.services.concerns.flag_events import AreaSources, reconciled_events
from app.services.concerns.flag_store import store_flags
from app.store import family_repo, flags_repo, reconcile_repo
from app.store.combined import combined

log = logging.getLogger("wnb.reconcile")
RULES_KEY = "rules-fingerprint"
LOCK_ROUNDS = 10


def reconcile(session: Session, patient_ids: Iterable[str], ctx: WriteContext) -> int:
    """Bring the flags of every family holding one of `patient_ids` in line with its facts.
    Flushes only. Returns how many families were judged."""
    rules, wanted = ctx.rules, set(patient_ids)
    if rules is None or not wanted:
        return 0
    members, loaded = family_facts.load(
        session, _locked_members(session, wanted), rules.uses_statuses()
    )
    everyone = wanted | {p for group in members.values() for p in group}
    desired: dict[Pair, DesiredFlag] = {}
    family_of: dict[str, str] = {}
    deaths: dict[str, datetime] = {}
    due: dict[datetime, list[str]] = defaultdict(list)
    views: dict[str, datetime] = {}
    held = large_families.held(session, members, ctx.family_alert_size)
    held_children = {loaded.surviving.get(p, p) for f in held for p in members[f]}
    for family_id, facts in loaded.facts.items():
        judged_by = rules.child_rules_only() if family_id in held else rules
        desired.update(desired_flags(judged_by, facts, ctx.now))
        deaths.update(facts.deaths)
        views.update((e.event_id, e.at) for e in facts.events)
        for p in members[family_id]:
            family_of[p] = family_of[loaded.surviving.get(p, p)] = family_id
        at = next_due(rules, facts.events, ctx.now)
        if at is not None:
            due[at].append(members[family_id][0])
    found, stored = flags_repo.flags_of_children(session, everyone)
    rows = [Concern.of(r) for r in found]
    dying = {r.pk for r in rows if r.is_open and r.child_id in deaths and r.pk is not None}
    known = flags.judged(rows, list(flags_repo.reviews_of(session, sorted(dying))))
    concerns = desired_concerns(desired)
    events = [e for facts in loaded.facts.values() for e in facts.events]
    explain = withdrawal_reasons.explain(
        session,
        flags.gone_reasons(concerns, known),
        loaded.surviving,
        rules,
        events,
        held_children,
    )
    changes = flags.compare(concerns, known, family_of, deaths, explain, ctx.now)
    # The marks and the concerns' writes read nothing back: one statement together.
    with combined(session):
        # A stale later mark (a window that no longer matters) only costs the worker a look.
        reconcile_repo.set_marks(session, due)
        if changes:
            sources = AreaSources(loaded.patients, loaded.places)
            _apply(session, changes, known, stored, views, sources, ctx)
    return len(members)


class ReconcileFailed(Exception):
    """Reconciliation failed for a reason other than the database's own: the unit of work is
    run again with reconciliation deferred, so the facts still commit (with a mark)."""


def settle(session: Session, ctx: WriteContext, inline: bool = True) -> None:
    """Reconcile the families a unit of work touched, before it commits (read your writes).

    No savepoint (two round trips on every write): if reconciliation fails for any reason but
    the database's own (a lock or unique-key race, which the unit of work retries whole),
    `ReconcileFailed` asks the edge to run the unit of work again with reconciliation
    deferred, and the facts commit with a durable mark that the worker finishes. `inline`
    False defers every reconciliation to the worker (bulk loads)."""
    touched = take_touched(session)
    if not touched or ctx.rules is None:
        return
    if inline and not unit_of(session).defer_reconcile:
        try:
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
            raise ReconcileFailed from exc
    reconcile_repo.mark(session, touched, ctx.now)


def reconcile_due(session: Session, ctx: WriteContext, limit: int) -> int:
    """Reconcile the families of patients whose mark is due (left by a write whose
    reconciliation did not finish, a new rules version, or a time-based deadline)."""
    claimed = reconcile_repo.claim_due(session, ctx.now, limit)
    if claimed:
        reconcile(session, claimed, ctx)
        reconcile_repo.clear_done(session, claimed, ctx.now)
    return len(claimed)


def rules_fingerprint(rules: RuleSet) -> str:
    dumped = [r.model_dump(mode="json") for r in rules.rules]
    return hashlib.sha256(orjson.dumps(dumped, option=orjson.OPT_SORT_KEYS)).hexdigest()


def note_rules_version(session: Session, rules: RuleSet | None, now: datetime) -> int:
    """When the rules in force differ from those last applied, mark every child with events
    so the worker re-judges every family in the background. Returns how many were marked."""
    if rules is None:
        return 0
    if not reconcile_repo.swap_state_value(session, RULES_KEY, rules_fingerprint(rules)):
        return 0
    return reconcile_repo.mark_every_child(session, now)


def _locked_members(session: Session, wanted: set[str]) -> Any:
    """The members of the families of `wanted`, those families locked; membership is read
    again under the lock, so a concurrent link or split is never judged blind."""
    families = family_repo.lock_families_of(session, wanted)
    for _ in range(LOCK_ROUNDS):
        rows = family_repo.members_with_records(session, families.values())
        now = {p: f for f, p, *_ in rows if p in wanted}
        if now == families:
            # A family merged away while we waited for its lock drops out of the locked
            # rows: look again unless the patients missing truly have no family.
            missing = wanted - set(families)
            if not missing or not family_repo.families_of(session, missing):
                return rows
        families = family_repo.lock_families_of(session, wanted)  # someone moved: lock again
    return family_repo.members_with_records(session, families.values())


def _apply(
    session: Session,
    changes: list[flags.Change],
    known: flags.Judged,
    stored: dict[str, flags_repo.StoredFlag],
    views: dict[str, datetime],
    sources: AreaSources,
    ctx: WriteContext,
) -> None:
    places = sources.places
    added: list[dict[str, Any]] = []
    updated: dict[tuple[str, ...], list[dict[str, Any]]] = defaultdict(list)
    writes = []
    for c in changes:
        row = known.current.get(c.child_id)
        values = dict(c.values)
        if "evidence_events" in values:
            times = [views[e] for e in values["evidence_events"] if e in views]
            values["first_event_at"] = min(times, default=ctx.now)
            values["last_event_at"] = max(times, default=ctx.now)
        if row is None:
            # Where the latest evidence happened: the flag's child's own row of a joint
            # appointment, else the row of the child it concerns (a sibling's miss).
            latest = max(
                (e for e in values["evidence_events"] if e in places),
                key=lambda e: views.get(e, ctx.now),
                default=None,
            )
            here = places.get(latest or "", {})
            place = here.get(c.child_id) or next(iter(here.values()), None)
            values.update(
                state_values(ConcernState.OPEN),
                flag_id=c.flag_id,
                rule_id=flags.CONCERN,
                child_id=c.child_id,
                opened_at=ctx.now,
                closed_at=None,
                outcome=None,
                organisation=place.organisation if place else None,
                age_days=place.age_days if place else None,
            )
            added.append(values)
            after = Concern.new(values)
        else:
            updated[tuple(sorted(values))].append({"pk": row.pk, **values})
            after = row.changed(values)
        writes.append(after.flag(ctx))
    # The concern rows and their Flags: writes that read nothing back go as one statement
    # (a changed concern's row, its Flag's current row and the Flag's new version), so no
    # pipeline: entering and leaving one cost about 150 us of client CPU, more than the
    # wait it would save.
    with combined(session):
        flags_repo.add_many(session, added)
        for group in updated.values():
            flags_repo.change_many(session, group)
        version = store_flags(session, writes, ctx, stored)
    events = reconciled_events(session, changes, known, version, ctx.now, sources)
    enqueue_flag_events(session, events)
    # Every change with a review is to a stored concern (`pk` set); a new one, should it
    # ever carry a review, is looked up. One statement for all the reviews.
    pks = flags_repo.pks_of(session, [c.flag_id for c in changes if c.review and c.pk is None])
    flags_repo.add_reviews(
        session,
        [
            {
                "flag_pk": c.pk if c.pk is not None else pks[c.flag_id],
                "at": ctx.now,
                "by_kind": "system",
                "by_id": flags.SYSTEM,
                "action": c.review[0],
                "note": c.review[1],
                "flag_version": version[c.flag_id],
            }
            for c in changes
            if c.review is not None
        ],
    )
