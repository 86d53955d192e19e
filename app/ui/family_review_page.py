"""Reviewing a family at once from its page or a child's page (POST /ui/families/{id}/review):
the same review of each chosen child's concern, all or none. A mistake comes back on the page
it was sent from, at its field; success goes back there with "Saved"."""

from __future__ import annotations

import re
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from app.api import audited as api
from app.api.nurse_params import Id
from app.api.state import get_state
from app.fhir.errors import FhirError
from app.services.access.audit import AuditNote
from app.services.nurse.family_review import review_family
from app.services.nurse.review import ReviewInput
from app.ui.child_page import show_child
from app.ui.family_form import FAMILY_ACTIONS, FieldError, ReviewForm, child_field
from app.ui.family_page import show_family
from app.ui.flag_page import ACTIONS, NOTE_LIMIT, OUTCOMES
from app.ui.guard import checked_form_user

router = APIRouter(prefix="/ui")
AN_ID = re.compile(r"[A-Za-z0-9\-.]{1,64}")
FIELDS = {"body.action": "action", "body.outcome": "outcome", "body.note": "note"}
CHILD_AT = re.compile(r"body\.children\[(\d+)\]")


@router.post("/families/{family_id}/review")
async def review(
    family_id: Id,
    request: Request,
    csrf_token: Annotated[str, Form()] = "",
    children: Annotated[list[str] | None, Form()] = None,
    action: Annotated[str, Form()] = "",
    outcome: Annotated[str, Form()] = "",
    note: Annotated[str, Form()] = "",
    back: Annotated[str, Form()] = "",
) -> Response:
    chosen = [c for c in children or [] if AN_ID.fullmatch(c)]
    audit_note = AuditNote("review", "Flag", sorted({f"Patient/{c}" for c in chosen}))
    who = await checked_form_user(request, audit_note, csrf_token)
    back = back if AN_ID.fullmatch(back) else ""
    form = ReviewForm(chosen, action, outcome, note)
    errors, status = _problems(form), 422
    if not errors:
        state = get_state(request)
        given = ReviewInput(ACTIONS[action], OUTCOMES.get(outcome), note or None)
        ctx = state.write_context()
        try:
            await api.audited(
                state,
                who,
                audit_note,
                (),
                lambda s: review_family(s, family_id, chosen, given, who, ctx),
                ctx,
            )
        except FhirError as exc:
            if exc.status not in (409, 422):
                raise
            errors = [_at_field(i.expression, i.diagnostics, chosen) for i in exc.issues]
            status = exc.status
    if errors:
        form = ReviewForm(chosen, action, outcome, note, errors, status)
        if back:
            return await show_child(back, request, form)
        return await show_family(family_id, request, form)
    page = f"/ui/children/{back}" if back else f"/ui/families/{family_id}"
    return RedirectResponse(f"{page}?reviewed={action}#family-review", status_code=303)


def _problems(form: ReviewForm) -> list[FieldError]:
    """What the page itself can tell is wrong, each at its field, in the form's order."""
    errors = []
    if not form.children:
        errors.append(FieldError("children", "Choose whose concern to review.", "#review-children"))
    if form.action not in FAMILY_ACTIONS:
        words = "Choose what you want to do with the concerns."
        errors.append(FieldError("action", words, "#review-action-acknowledge"))
    if form.outcome and form.outcome not in OUTCOMES:
        errors.append(FieldError("outcome", "Choose an outcome from the list.", "#review-outcome"))
    if len(form.note) > NOTE_LIMIT or "\x00" in form.note:
        words = f"The note must be {NOTE_LIMIT} characters or fewer."
        errors.append(FieldError("note", words, "#review-note"))
    return errors


def _at_field(expression: str | None, message: str, chosen: list[str]) -> FieldError:
    """The service's refusal at the form's field: `body.children[1]` is that child's box."""
    if expression in FIELDS:
        name = FIELDS[expression]
        href = "#review-action-acknowledge" if name == "action" else f"#review-{name}"
        return FieldError(name, message, href)
    found = CHILD_AT.fullmatch(expression or "")
    if found and int(found.group(1)) < len(chosen):
        return FieldError("children", message, "#" + child_field(chosen[int(found.group(1))]))
    return FieldError("children", message, "#review-children")
