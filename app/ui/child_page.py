"""The child page (/ui/children/{id}): who the child is, carers and siblings, flags with their
evidence and reviews, and the chronology as a timeline (one row per service) and a table."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from app.api.nurse_params import Id
from app.api.state import get_state
from app.services.audit import AuditNote
from app.services.chronology import child_chronology
from app.services.nurse_view import View
from app.services.relatives import relatives
from app.ui import chronology_view as cv
from app.ui import timeline
from app.ui.guard import page_user
from app.ui.render import page
from app.ui.view import audited

router = APIRouter(prefix="/ui")


def _child_and_relatives(session: Session, patient_id: str, now: datetime) -> tuple[View, View]:
    """Both in one transaction: one audit record names everyone the page shows."""
    return (
        child_chronology(session, patient_id, now),
        relatives(session, patient_id, now),
    )


@router.get("/children/{patient_id}")
async def child_page(patient_id: Id, request: Request) -> Response:
    note = AuditNote("read", "Patient", [f"Patient/{patient_id}"])
    who = await page_user(request, note)
    now = get_state(request).clock()
    child, kin = await audited(
        request,
        who,
        note,
        lambda s: _child_and_relatives(s, patient_id, now),
        lambda views: sorted(set(views[0].references) | set(views[1].references)),
    )
    items = child.body["items"]
    events = cv.of_kind(items, "event")
    statuses = cv.of_kind(items, "status-start")
    rows = cv.services(events)
    current, past = cv.open_first(cv.flags(items))
    context = {
        "who": who,
        "child": child.body["child"],
        "family_id": child.body["family_id"],
        "siblings": kin.body["siblings"],
        "carers": kin.body["carers"],
        "current_flags": current,
        "past_flags": past,
        "items": items,
        "timeline": timeline.build(events, statuses, cv.service_of, rows, lambda _: None, now),
    }
    return page(request, "child.html", context)
