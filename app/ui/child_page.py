"""The child page (/ui/children/{id}): who the child is, carers and siblings, flags with their
evidence and reviews, and the chronology as a timeline (one row per service) and a table."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from app.api.nurse_params import Id
from app.api.state import get_state
from app.services.access.audit import AuditNote
from app.services.common.answer import Answer
from app.services.nurse.case_owner import case_panel
from app.services.nurse.chronology import child_chronology
from app.services.nurse.family_review import open_concerns
from app.services.nurse.household import household
from app.services.nurse.relatives import relatives
from app.services.nurse.shapes.chronology import ChildChronology
from app.services.nurse.sharing import METHODS
from app.services.nurse.status_banner import banner
from app.ui import chronology_view as cv
from app.ui import timeline
from app.ui.case_page import LONDON
from app.ui.family_form import ReviewForm, review_context
from app.ui.guard import page_user
from app.ui.render import page
from app.ui.view import audited

router = APIRouter(prefix="/ui")


Views = tuple[ChildChronology, dict[str, Any], dict[str, Any]]


def _child_and_relatives(session: Session, patient_id: str, now: datetime) -> Answer[Views]:
    """All in one transaction: one audit record names everyone the page shows."""
    child = child_chronology(session, patient_id, now)
    kin = relatives(session, patient_id, now)
    case = case_panel(session, [patient_id], now.date())
    case["banner"] = banner(session, patient_id, child.body.items, now)
    case["concerns"] = open_concerns(session, child.body.family_id, now.date())
    people = household(
        session, patient_id, child.body.items, kin.body["siblings"], kin.body["carers"], now
    )
    case["banner"].update(people.body)
    refs = {*child.references, *kin.references, *people.references}
    return Answer((child.body, kin.body, case), sorted(refs))


@router.get("/children/{patient_id}")
async def child_page(patient_id: Id, request: Request) -> Response:
    note = AuditNote("read", "Patient", [f"Patient/{patient_id}"])
    return await _child(patient_id, request, note)


@router.get("/children/{patient_id}/print")
async def child_print(patient_id: Id, request: Request) -> Response:
    """The chronology to print for a strategy meeting: audited as a disclosure."""
    return await print_child(patient_id, request, "print chronology")


async def print_child(patient_id: str, request: Request, what: str) -> Response:
    """The print view, audited as a disclosure whose query says `what` was made."""
    note = AuditNote("read", "Patient", [f"Patient/{patient_id}"], what, disclosure=True)
    return await _child(patient_id, request, note, printing=True)


async def _child(
    patient_id: str,
    request: Request,
    note: AuditNote,
    printing: bool = False,
    form: ReviewForm | None = None,
) -> Response:
    who = await page_user(request, note)
    now = get_state(request).clock()
    child, kin, case = await audited(
        request, who, note, lambda s: _child_and_relatives(s, patient_id, now)
    )
    items = child.items
    events = cv.events(items)
    statuses = cv.status_starts(items)
    rows = cv.services(events)
    current, past = cv.open_first(cv.flags(items))
    context = {
        "who": who,
        "child": child.child,
        "family_id": child.family_id,
        "siblings": kin["siblings"],
        "carers": kin["carers"],
        "owner": case["owners"].get(patient_id),
        "banner": case["banner"],
        "colleagues": case["colleagues"],
        "saved": request.query_params.get("owner") == "saved",
        "current_flags": current,
        "past_flags": past,
        "items": items,
        "timeline": timeline.build(
            cv.marks(events, cv.service_of), cv.periods(statuses), cv.row, rows, lambda _: None, now
        ),
        "printing": printing,
        "methods": list(METHODS.items()),
        "shared": request.query_params.get("shared") == "saved",
        "today": now.astimezone(LONDON).date().isoformat(),  # the form's default: London's day
        "now": now,
        "review": review_context(request, case["concerns"], form, patient_id),
    }
    return page(request, "child.html", context, form.status if form else 200)


async def show_child(patient_id: str, request: Request, form: ReviewForm) -> Response:
    """The child page again, with the family review form as it was sent and its errors."""
    note = AuditNote("read", "Patient", [f"Patient/{patient_id}"])
    return await _child(patient_id, request, note, form=form)
