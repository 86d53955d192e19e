"""The family page (/ui/families/{id}): every child and carer of the family on one timeline,
one row per person, so a cluster of missed appointments across siblings shows at a glance."""

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
from app.services.nurse.chronology import family_chronology
from app.services.nurse.family_review import open_concerns
from app.services.nurse.shapes.chronology import ChronologyItem, FamilyChronology
from app.services.nurse.shapes.concern import CaseOwnerView
from app.services.nurse.status_banner import family_banner
from app.ui import chronology_view as cv
from app.ui import timeline
from app.ui.family_form import ReviewForm, review_context
from app.ui.guard import page_user
from app.ui.render import page
from app.ui.view import audited

router = APIRouter(prefix="/ui")


def person_rows(body: FamilyChronology) -> tuple[dict[str, str], dict[str, str]]:
    """Row label per child id (eldest first) and per carer key; names repeat, so each label
    is made unique."""
    children: dict[str, str] = {}
    for c in sorted(body.children, key=lambda c: c.birth_date or "9999"):
        children[c.id] = _unique(c.name or "Name not known", children.values())
    carers: dict[str, str] = {}
    for carer in body.carers:
        if carer.patient_id and carer.patient_id not in children:
            name = f"{carer.name or 'Carer'} (carer)"
            carers[carer.key] = _unique(name, [*children.values(), *carers.values()])
    return children, carers


def _common(owners: dict[str, CaseOwnerView], ids: list[str]) -> CaseOwnerView | None:
    """The owner of every child's case when they all have the same one."""
    names = {owner.username if (owner := owners.get(i)) else None for i in ids}
    return owners[ids[0]] if ids and len(names) == 1 and None not in names else None


def _unique(name: str, taken: Any) -> str:
    taken = set(taken)
    n, candidate = 1, name
    while candidate in taken:
        n += 1
        candidate = f"{name} ({n})"
    return candidate


def _family(
    session: Session, family_id: str, now: datetime
) -> Answer[tuple[FamilyChronology, dict[str, Any]]]:
    """The chronology, who owns each child's case and the open concerns, in one transaction."""
    chronology = family_chronology(session, family_id, now)
    ids = [c.id for c in chronology.body.children]
    case = case_panel(session, ids, now.date())
    case["concerns"] = open_concerns(session, family_id, now.date())
    body = chronology.body
    case["banner"] = family_banner(session, body.children, body.items, now)
    return Answer((body, case), chronology.references)


@router.get("/families/{family_id}")
async def family_page(family_id: Id, request: Request) -> Response:
    return await _family_page(family_id, request, AuditNote("read", "Patient"))


@router.get("/families/{family_id}/print")
async def family_print(family_id: Id, request: Request) -> Response:
    """The family's chronology to print: audited as a disclosure naming every child."""
    return await print_family(family_id, request, "print chronology")


async def print_family(family_id: str, request: Request, what: str) -> Response:
    """The print view, audited as a disclosure whose query says `what` was made."""
    note = AuditNote("read", "Patient", query=what, disclosure=True)
    return await _family_page(family_id, request, note, printing=True)


async def _family_page(
    family_id: str,
    request: Request,
    note: AuditNote,
    printing: bool = False,
    form: ReviewForm | None = None,
) -> Response:
    who = await page_user(request, note)
    now = get_state(request).clock()
    body, case = await audited(request, who, note, lambda s: _family(s, family_id, now))
    children, carers = person_rows(body)

    def row_of(item: ChronologyItem | dict[str, Any]) -> str:
        """The row of a chronology item, or of a flag's card (a dict of its fields)."""
        fields = item if isinstance(item, dict) else dict(item)
        if fields.get("carer"):
            return carers.get(fields["carer"], "")
        return children.get(fields.get("child_id") or "", "")

    def status_row(period: dict[str, Any]) -> str | None:
        return children.get(period["child_id"] or "")

    items = body.items
    events = cv.events(items)
    statuses = cv.status_starts(items)
    context = {
        "who": who,
        "family_id": family_id,
        "children": body.children,
        "carers": body.carers,
        "banner": case["banner"],
        "owners": case["owners"],
        "common_owner": _common(case["owners"], [c.id for c in body.children]),
        "colleagues": case["colleagues"],
        "saved": request.query_params.get("owner") == "saved",
        "row_of": row_of,
        "flags": cv.flags(items),
        "items": items,
        "timeline": timeline.build(
            cv.marks(events, row_of),
            cv.periods(statuses),
            cv.row,
            [*children.values(), *carers.values()],
            status_row,
            now,
        ),
        "printing": printing,
        "now": now,
        "review": review_context(request, case["concerns"], form),
    }
    return page(request, "family.html", context, form.status if form else 200)


async def show_family(family_id: str, request: Request, form: ReviewForm) -> Response:
    """The family page again, with the family review form as it was sent and its errors."""
    return await _family_page(family_id, request, AuditNote("read", "Patient"), form=form)
