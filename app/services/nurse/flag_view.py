"""One raised flag as a nurse sees it: the worklist item, its reviews and, in detail, the
evidence events (when, which service, which outcome, whose: a family flag's evidence names
the siblings' appointments too)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from app.fhir.errors import FhirError
from app.services.access.users import display_names
from app.services.common.answer import Answer
from app.services.nurse.nurse_view import event_display, flag_items, review_view
from app.services.nurse.organisation_names import NAME, organisation_names
from app.services.nurse.sharing import sharing_items
from app.store import chronology_repo, flags_repo


def flag_view(
    session: Session, flag_id: str, now: datetime, details: bool = True
) -> Answer[dict[str, Any]]:
    row = flags_repo.by_flag_id(session, flag_id)
    if row is None:
        raise FhirError.one(404, "not-found", f"Flag/{flag_id} is not known.", "flag_id")
    [item] = flag_items(session, [row], now.date())
    names = display_names(session)
    item["reviews"] = [review_view(r, names) for r in flags_repo.reviews_of(session, [row.pk])]
    refs = {f"Flag/{row.flag_id}", f"Patient/{row.child_id}"}
    events = chronology_repo.events_by_refs(session, row.evidence_events)
    # A joint appointment is coded per Patient (mother and baby): only children's events
    # are evidence, and an adult's own outcome is not disclosed through a child's flag.
    events = [e for e in events if e.is_child]
    # The concern's organisation came from its evidence: their displays name it at worst.
    sent = {
        e.organisation: e.organisation_name
        for e in events
        if e.organisation and e.organisation_name
    }
    codes = [row.organisation, *(e.organisation for e in events)]
    found = organisation_names(session, codes, sent)
    item[NAME] = found.get(row.organisation or "")
    if details:
        item["evidence_details"] = [_named(event_display(e), found) for e in events]
        # What agencies were told about this concern, and what nurses shared about the child.
        shared = sharing_items(session, [row.child_id], [row], names)
        item["sharing"] = sorted(shared, key=lambda i: i["at"])
        refs |= {f"Patient/{e.child_id}" for e in events}
        refs |= {f"{e.resource_type}/{e.resource_id}" for e in events}
    return Answer(item, sorted(refs))


def _named(view: dict[str, Any], found: dict[str, str]) -> dict[str, Any]:
    if view["organisation"]:
        view[NAME] = found.get(view["organisation"])
    return view
