"""Job functions: each opens its own transaction and commits it."""

from __future__ import annotations

import logging
from collections.abc import Callable

from sqlalchemy.orm import Session

from app.import_run import run_jobs
from app.runtime import AppState
from app.services.access import upkeep
from app.services.access.upkeep import SEAL_BATCH, KeyMissing, seal_trail
from app.services.common.writes import WriteContext
from app.services.concerns.operations import reconcile_backlog
from app.services.concerns.reconcile import note_rules_version, reconcile_due
from app.services.intake import hl7_retention
from app.services.records.link_periods import note_links_version, relink_due

log = logging.getLogger("wnb.worker")
DUE_BATCH = 500


def checkpoint_sqlite(state: AppState) -> None:
    """Fold the SQLite write-ahead log back into the database so it cannot grow unbounded."""
    upkeep.checkpoint_sqlite(state.engine)


def run_reconcile(state: AppState) -> int:
    """Reconcile the families that are due: every family again after a new rules version,
    those whose time-based window has closed (e.g. not rebooked within 14 days), and those
    whose write committed without its reconciliation (a crash, a failure). A batch per
    transaction until none is due. Returns how many patients' marks were taken."""
    marked = state.write(lambda s: note_rules_version(s, state.rules, state.clock()))
    if marked:
        log.info("rules changed: %d children's families to judge again", marked)
    relinked = state.write(lambda s: note_links_version(s, state.terms, state.clock()))
    if relinked:
        log.info("family link terms changed: %d carers and households to link again", relinked)
    while _in_unit(state, relink_due) == DUE_BATCH:
        pass  # each batch marks the families it changed; the loop below reconciles them
    total = 0
    while True:
        count = _in_unit(state, reconcile_due)
        total += count
        if count < DUE_BATCH:
            break
        # An import's backlog drains a batch at a time: counts only, never whose families.
        waiting, _ = state.read(lambda s: reconcile_backlog(s, state.clock()))
        log.info("reconciled the families of %d patients so far; %d waiting", total, waiting)
    if total:
        log.info("reconciled the families of %d patients", total)
    return total


def run_imports(state: AppState) -> int:
    """Import the queued `$import` bodies (each resumes after its last batch if a worker died
    under it); their families are left marked for `run_reconcile`. Returns how many."""
    done = run_jobs(state)
    if done:
        log.info("imported %d $import job(s)", done)
    return done


def seal_audit(state: AppState, everything: bool = False) -> int:
    """Link the AuditEvents committed since the last pass into the hash chain, a batch per
    transaction until none is left. Returns how many were sealed."""
    total = 0
    while True:
        try:
            count = state.write(lambda s: seal_trail(s, state.audit_keys, everything))
        except KeyMissing as exc:
            # Development without the key a keyed chain needs: the rows wait, unsealed and
            # protected by the append-only triggers, until the key is back.
            log.warning("%s", exc)
            return total
        total += count
        if count < SEAL_BATCH:
            return total


def sweep_audit(state: AppState) -> int:
    """The whole trail: an event that committed long after its neighbours is sealed too."""
    return seal_audit(state, everything=True)


def erase_hl7_messages(state: AppState) -> int:
    """Erase the raw text of HL7 messages past the retention period."""
    now, days = state.clock(), state.settings.hl7_retention_days
    erased = state.write(lambda s: hl7_retention.erase_expired(s, now, days))
    if erased:
        log.info("erased the text of %d HL7 messages past retention", erased)
    return erased


def housekeeping(state: AppState) -> None:
    """Forget expired client assertion ids and ended sessions."""
    now = state.clock()
    state.write(lambda s: upkeep.forget_expired(s, now))


def bound_error_backlogs(state: AppState) -> int:
    """Expire messages that waited too long, or pile too high, for subscriptions in error."""
    settings, now = state.settings, state.clock()
    return state.write(
        lambda s: upkeep.bound_error_backlogs(
            s, now, settings.webhook_error_backlog, settings.webhook_error_backlog_hours
        )
    )


def _in_unit(state: AppState, batch: Callable[[Session, WriteContext, int], int]) -> int:
    """One batch in one unit of work, judged with the context it was given."""
    ctx = state.write_context()
    return state.write(lambda s: batch(s, ctx, DUE_BATCH), ctx)
