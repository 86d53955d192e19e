"""Case work in the browser: "My caseload" (/ui/caseload), and the forms on the child and
family pages that give a case to a nurse with a next review date. The forms post like the
review form: a CSRF token, then the same use case as the API, then back to the page."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time
from typing import Annotated
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from app.api.nurse_params import Id
from app.api.state import get_state
from app.auth.principal import Principal
from app.services.access.audit import AuditNote
from app.services.nurse import case_owner, sharing
from app.ui.guard import checked_form_user, page_user
from app.ui.render import page
from app.ui.view import PageError, audited

router = APIRouter(prefix="/ui")
LONDON = ZoneInfo("Europe/London")
Field = Annotated[str, Form()]
FLAG_ID = re.compile(r"[A-Za-z0-9\-.]{1,64}")


def assignment_of(who: Principal, owner: str, next_review: str) -> case_owner.Assignment:
    try:
        review = date.fromisoformat(next_review) if next_review else None
    except ValueError:
        raise PageError(422, "Enter the next review date as a date, like 2026-12-20.") from None
    if "\x00" in owner or len(owner) > 100:
        raise PageError(422, "Choose who owns the case from the list.")
    chosen = who.id if owner == "me" else (owner or None)
    return case_owner.Assignment(chosen, review)


@router.post("/children/{patient_id}/owner")
async def give_child(
    patient_id: Id, request: Request, csrf_token: Field = "", owner: Field = "",
    next_review: Field = "",
) -> Response:  # fmt: skip
    note = AuditNote("update", "Patient", [f"Patient/{patient_id}"])
    who = await checked_form_user(request, note, csrf_token)
    given = assignment_of(who, owner, next_review)
    now = get_state(request).clock()
    await audited(
        request, who, note, lambda s: case_owner.assign_child(s, patient_id, given, who, now)
    )
    return RedirectResponse(f"/ui/children/{patient_id}?owner=saved#case", status_code=303)


@router.post("/families/{family_id}/owner")
async def give_family(
    family_id: Id, request: Request, csrf_token: Field = "", owner: Field = "",
    next_review: Field = "",
) -> Response:  # fmt: skip
    note = AuditNote("update", "Patient")
    who = await checked_form_user(request, note, csrf_token)
    given = assignment_of(who, owner, next_review)
    now = get_state(request).clock()
    await audited(
        request, who, note, lambda s: case_owner.assign_family(s, family_id, given, who, now)
    )
    return RedirectResponse(f"/ui/families/{family_id}?owner=saved#case", status_code=303)


@router.get("/caseload")
async def caseload_page(request: Request) -> Response:
    note = AuditNote("search", "Patient", query="my caseload")
    who = await page_user(request, note)
    today = get_state(request).clock().date()
    body = await audited(request, who, note, lambda s: case_owner.caseload(s, who.id, today))
    return page(request, "caseload.html", {"who": who, "body": body, "today": today})


@router.post("/children/{patient_id}/sharing")
async def record_sharing(
    patient_id: Id, request: Request, csrf_token: Field = "", agency: Field = "",
    method: Field = "", shared_on: Field = "", note: Field = "", flag_id: Field = "",
) -> Response:  # fmt: skip
    audit_note = AuditNote("update", "Patient", [f"Patient/{patient_id}"])
    who = await checked_form_user(request, audit_note, csrf_token)
    now = get_state(request).clock()
    try:
        day = date.fromisoformat(shared_on)
    except ValueError:
        raise PageError(422, "Enter the date it was shared, like 2026-12-20.") from None
    if day > now.astimezone(LONDON).date():
        raise PageError(422, "The date it was shared cannot be in the future.")
    # A date from the form: midday London time is never the wrong day in either season.
    at = datetime.combine(day, time(12), tzinfo=LONDON).astimezone(UTC)
    given = sharing.SharingInput(agency, method, min(at, now), note or None)
    await audited(
        request, who, audit_note, lambda s: sharing.record_sharing(s, patient_id, given, who, now)
    )
    # Back to the concern page the form was on; only an id's characters, so never elsewhere.
    back = f"/ui/flags/{flag_id}" if FLAG_ID.fullmatch(flag_id) else f"/ui/children/{patient_id}"
    return RedirectResponse(f"{back}?shared=saved#sharing", status_code=303)
