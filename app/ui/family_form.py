"""The family review form's state, shared by the family page and the child page: the open
concerns it lists, what was sent, and each error at its field (and in the error summary)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from fastapi import Request

from app.services.nurse.shapes.concern import REVIEW_OUTCOMES

# What a family review may do; reopening is one concern at a time, on the flag's own page.
FAMILY_ACTIONS = {
    "acknowledge": "Acknowledge: I am looking at them",
    "outcome": "Record an outcome",
    "close": "Close the concerns",
    "note": "Add a note only",
}


@dataclass(frozen=True)
class FieldError:
    field: str  # children, action, outcome or note
    message: str
    href: str  # the id of the input the error summary links to


@dataclass(frozen=True)
class ReviewForm:
    """A family review sent back to the nurse: what she chose and what is wrong with it."""

    children: list[str]
    action: str
    outcome: str
    note: str
    errors: list[FieldError] = field(default_factory=list)
    status: int = 422


def child_field(child_id: str) -> str:
    return f"review-child-{child_id}"


def review_context(
    request: Request,
    concerns: list[dict[str, Any]],
    form: ReviewForm | None,
    back: str = "",
) -> dict[str, Any]:
    """What templates/family_review.html needs. Nothing is chosen for the nurse: no child's
    concern is ticked and no action is selected until she does it herself."""
    done = request.query_params.get("reviewed")
    errors = [_named(e, concerns) for e in (form.errors if form else [])]
    by_field: dict[str, str] = {}
    for e in errors:
        key = e.href.removeprefix("#") if e.field == "children" else e.field
        by_field.setdefault(key, e.message)
        by_field.setdefault(e.field, e.message)
    return {
        "concerns": concerns,
        "actions": FAMILY_ACTIONS,
        "outcomes": REVIEW_OUTCOMES,
        "given": form or ReviewForm([], "", "", ""),
        "errors": errors,
        "by_field": by_field,
        "back": back,
        # Only our own redirect's words: a crafted link cannot make the page say "Saved".
        "done": done if form is None and done in FAMILY_ACTIONS else None,
    }


def _named(error: FieldError, concerns: list[dict[str, Any]]) -> FieldError:
    """An error as the nurse reads it: a child by name, not by id, and a link to a box that
    is on the page (the first child's when no child in particular is meant)."""
    message, href = error.message, error.href
    for c in concerns:
        name = c["name"] or "A child"
        message = message.replace(f"Patient/{c['child_id']}", name)
        if href == "#" + child_field(c["child_id"]) and name not in message:
            message = f"{name}: {message}"
    if error.field == "children" and href == "#review-children" and concerns:
        href = "#" + child_field(concerns[0]["child_id"])
    return FieldError(error.field, message, href)
