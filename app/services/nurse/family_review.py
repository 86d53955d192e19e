"""Reviewing a family at once: the same review (acknowledge, note, outcome, close) applied to
the open concern of each chosen child, recorded per concern as `review_flag` records it.
Every child and every concern is checked before anything is written, so the review applies
to all the chosen concerns or to none."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

from sqlalchemy.orm import Session

from app.auth.principal import Principal
from app.fhir.errors import FhirError, Issue
from app.services.common.answer import Answer
from app.services.common.writes import WriteContext
from app.services.concerns.concern import Concern
from app.services.nurse import child_summary
from app.services.nurse.review import ReviewInput, check_review, review_flag
from app.services.nurse.shapes.concern import FamilyReviewResult
from app.store import chronology_repo, family_repo, flags_repo

# Where a concern's own refusal points: the child it was chosen as, not the whole form.
BODY_FIELDS = frozenset({"body.note", "body.outcome"})


def review_family(
    session: Session,
    family_id: str,
    children: Sequence[str],
    given: ReviewInput,
    who: Principal,
    ctx: WriteContext,
) -> Answer[FamilyReviewResult]:
    """Each chosen child's concern as the review leaves it; the answer names every child and
    every Flag, so one audit record covers the whole review."""
    rows = _chosen(session, family_id, children, given)
    concerns, refs = [], set()
    for row in rows:
        answer = review_flag(session, row.flag_id, given, who, ctx)
        concerns.append(answer.body)
        refs.update(answer.references)
    body = FamilyReviewResult(family_id=family_id, concerns=concerns)
    return Answer(body, sorted(refs))


def open_concerns(session: Session, family_id: str | None, today: date) -> list[dict[str, Any]]:
    """The family's open concerns, one per child, each with the child's name and its reasons
    (rule, priority): what the family review form lists."""
    if family_id is None:
        return []
    members = family_repo.members(session, [family_id]).get(family_id, [])
    rows = [c for f in chronology_repo.flags_of(session, members) if (c := Concern.of(f)).is_open]
    names = child_summary.children(session, [f.child_id for f in rows], today)
    return [
        {
            "flag_id": f.flag_id,
            "child_id": f.child_id,
            "name": names[f.child_id].name,
            "priority": f.priority,
            "state": f.state,
            "reasons": [
                {"rule_id": rule, "priority": r.get("priority", f.priority)}
                for rule, r in f.by_rule().items()
            ],
        }
        for f in rows
    ]


def _chosen(
    session: Session, family_id: str, children: Sequence[str], given: ReviewInput
) -> list[Concern]:
    """The open concern of each chosen child, locked; or the first thing wrong, naming the
    child by its place in `body.children`."""
    if not chronology_repo.family_exists(session, family_id):
        raise FhirError.one(404, "not-found", f"Family {family_id} is not known.", "family_id")
    members = set(family_repo.members(session, [family_id]).get(family_id, []))
    for i, child in enumerate(children):
        if child not in members:
            raise _at(i, 422, f"Patient/{child} is not a child of this family.")
        if child in children[:i]:
            raise _at(i, 422, f"Patient/{child} is chosen twice.")
    found, _ = flags_repo.flags_of_children(session, children)  # locked until commit
    open_of = {c.child_id: c for c in map(Concern.of, found) if c.is_open}
    rows = []
    for i, child in enumerate(children):
        row = open_of.get(child)
        if row is None:
            raise _at(i, 409, f"Patient/{child} has no open concern to review.")
        try:
            check_review(row, given)
        except FhirError as exc:
            raise _placed(exc, i) from None
        rows.append(row)
    return rows


def _at(i: int, status: int, message: str) -> FhirError:
    code = "conflict" if status == 409 else "business-rule"
    return FhirError.one(status, code, message, f"body.children[{i}]")


def _placed(exc: FhirError, i: int) -> FhirError:
    """A concern's refusal: a missing note or outcome stays at its field; anything about the
    concern's state (already acknowledged, closed) points at the child."""
    issues = [
        Issue(
            x.code,
            x.diagnostics,
            x.expression if x.expression in BODY_FIELDS else f"body.children[{i}]",
            x.severity,
        )
        for x in exc.issues
    ]
    return FhirError(exc.status, issues)
