"""Reviewing a raised flag: acknowledge it, add a note, record what was decided, close it,
reopen it.
Every review is a new flag_review row (who, when, what, why) and, when the flag changed,
a new version of its FHIR Flag, so the history keeps every state it was ever in."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson
from sqlalchemy.orm import Session

from app.auth.principal import Principal
from app.fhir.concern_state import ConcernState, state_values
from app.fhir.errors import FhirError, Issue
from app.notify.outbox import enqueue_flag_events
from app.services.common.answer import Answer
from app.services.common.writes import WriteContext
from app.services.concerns.concern import Concern
from app.services.concerns.flag_events import flag_events
from app.services.concerns.flag_store import store_flags
from app.services.nurse.flag_view import flag_with_reviews
from app.services.nurse.shapes.concern import (
    REVIEW_OUTCOMES,
    FlagWithReviews,
    ReviewAction,
    ReviewOutcome,
)
from app.store import flags_repo, resources_repo


@dataclass(frozen=True)
class ReviewInput:
    action: ReviewAction
    outcome: ReviewOutcome | None = None
    note: str | None = None


def review_flag(
    session: Session, flag_id: str, given: ReviewInput, who: Principal, ctx: WriteContext
) -> Answer[FlagWithReviews]:
    """Apply one review to the flag (locked until commit); the flag as it now stands."""
    stored = flags_repo.by_flag_id(session, flag_id, lock=True)
    if stored is None:
        raise FhirError.one(404, "not-found", f"Flag/{flag_id} is not known.", "flag_id")
    row = Concern.of(stored)
    note = (given.note or "").strip() or None
    check_review(row, given)
    if given.action == "reopen" and flags_repo.open_concern_of(session, row.child_id):
        # Only one open concern per child: newer evidence already raised another.
        raise FhirError.one(
            409,
            "conflict",
            "A newer concern for this child is open; review that one.",
            "flag_id",
        )
    changes: dict[str, Any] = {} if row.reviewed else {"reviewed": True}
    # Evidence-changed flags are open too: acknowledging one means the nurse has looked.
    if (
        given.action in ("acknowledge", "outcome")
        and row.is_open
        and row.state != ConcernState.ACKNOWLEDGED
    ):
        changes["state"] = ConcernState.ACKNOWLEDGED
    if given.outcome is not None:
        changes["outcome"] = given.outcome
    if given.action == "close":
        changes.update(state_values(ConcernState.CLOSED), closed_at=ctx.now)
    if given.action == "reopen":
        changes.update(state_values(ConcernState.OPEN), closed_at=None)
    if changes:
        flags_repo.change(session, stored.pk, changes)
    version = _write_flag(session, row.changed(changes), ctx)
    if given.action == "close":
        events = flag_events(session, "closed", [flag_id], ctx.now, {flag_id: version})
        enqueue_flag_events(session, events)
    flags_repo.add_review(
        session,
        {
            "flag_pk": stored.pk,
            "at": ctx.now,
            "by_kind": who.kind,
            "by_id": who.id,
            "action": given.action,
            "outcome": given.outcome,
            "note": note,
            "flag_version": version,
        },
    )
    return flag_with_reviews(session, flag_id, ctx.now)


def check_review(row: Concern, given: ReviewInput) -> None:
    """Raise the first thing that makes this review wrong for this flag as it stands now."""
    note = (given.note or "").strip() or None
    if given.action == "note" and note is None:
        raise _rule("body.note", "A note review needs the note's text.")
    if given.action == "outcome" and given.outcome is None:
        raise _rule("body.outcome", f"Say which outcome: one of {', '.join(REVIEW_OUTCOMES)}.")
    if given.action in ("acknowledge", "note") and given.outcome is not None:
        raise _rule("body.outcome", "An outcome is recorded with action outcome or close.")
    if given.outcome == "other" and note is None:
        raise _rule("body.note", "Outcome 'other' needs a note saying what was decided.")
    if given.action == "reopen" and row.is_open:
        raise FhirError.one(409, "conflict", "The flag is still open.", "body.action")
    if given.action == "reopen" and given.outcome is not None:
        raise _rule("body.outcome", "An outcome is recorded with action outcome or close.")
    if not row.is_open and given.action not in ("note", "reopen"):
        raise FhirError.one(
            409, "conflict", "The flag is already closed; only a note can be added.", "flag_id"
        )
    if given.action == "acknowledge" and row.state == ConcernState.ACKNOWLEDGED:
        raise FhirError.one(409, "conflict", "The flag is already acknowledged.", "body.action")
    if given.action == "close" and row.priority == "high":
        _check_high_close(row, given, note)
    if given.action == "close" and given.outcome is None and row.outcome is None:
        raise _rule("body.outcome", "Record what was decided (an outcome) to close the flag.")


def _check_high_close(row: Concern, given: ReviewInput, note: str | None) -> None:
    """A high-priority concern closes with what was decided and why, written down: an
    outcome (now or recorded earlier) and a note with the closing review itself."""
    issues = []
    if given.outcome is None and row.outcome is None:
        words = "Record what was decided (an outcome) to close a high-priority concern."
        issues.append(Issue("business-rule", words, "body.outcome"))
    if note is None:
        words = "Write a note saying why a high-priority concern can be closed."
        issues.append(Issue("business-rule", words, "body.note"))
    if issues:
        raise FhirError(422, issues)


def _rule(where: str, message: str) -> FhirError:
    return FhirError.one(422, "business-rule", message, where)


def _write_flag(session: Session, after: Concern, ctx: WriteContext) -> int:
    """Write the FHIR Flag of the concern as the review leaves it (`after`); its version
    (unchanged if nothing did). The service's own Flag needs no resolving, checking or
    coding, and changes no family: it is stored as reconciliation stores it, never sent back
    through ingest."""
    stored = resources_repo.current(session, "Flag", after.flag_id)
    before = orjson.loads(stored.content) if stored else {}
    request = after.flag(ctx)
    if stored is not None and _body(before) == _body(request.data):
        return stored.version  # a note alone: the Flag says what it said
    # Read after the flag's row was locked (by_flag_id), as store_flags expects.
    known = (
        {after.flag_id: flags_repo.StoredFlag(stored.pk, stored.version, stored.content)}
        if stored is not None
        else {}
    )
    return store_flags(session, [request], ctx, known)[after.flag_id]


def _body(flag: dict[str, Any]) -> dict[str, Any]:
    """A Flag without its id and meta (version, time): what a new version would change."""
    return {k: v for k, v in flag.items() if k not in ("id", "meta")}
