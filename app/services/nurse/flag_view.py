"""One raised flag as a nurse sees it: the worklist item, its reviews and, in detail, the
evidence events (when, which service, which outcome, whose: a family flag's evidence names
the siblings' appointments too). The concern's page adds what was shared about the child."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from app.fhir.errors import FhirError
from app.services.access.users import display_names
from app.services.common.answer import Answer
from app.services.nurse.nurse_view import event_display, flag_items, review_view
from app.services.nurse.organisation_names import organisation_names
from app.services.nurse.shapes.chronology import NotifiedItem, SharedItem
from app.services.nurse.shapes.concern import EventFields, FlagDetail, FlagWithReviews
from app.services.nurse.sharing import sharing_items
from app.store import chronology_repo, flags_repo
from app.store.models import CodedEvent, RaisedFlag


@dataclass(frozen=True)
class FlagPage:
    """A concern in detail and, oldest first, what agencies were told about it and what
    nurses shared about the child: what the concern's page shows."""

    flag: FlagDetail
    sharing: list[NotifiedItem | SharedItem]


def flag_with_reviews(session: Session, flag_id: str, now: datetime) -> Answer[FlagWithReviews]:
    """The concern as a review leaves it: its reviews, not its evidence in detail."""
    row = _flag_row(session, flag_id)
    base = _with_reviews(session, row, now, display_names(session))
    events = _evidence(session, row)
    named = organisation_names(session, [row.organisation], _sent(events))
    base.organisation_name = named.get(row.organisation or "")
    return Answer(base, sorted({f"Flag/{row.flag_id}", f"Patient/{row.child_id}"}))


def flag_view(session: Session, flag_id: str, now: datetime) -> Answer[FlagDetail]:
    row = _flag_row(session, flag_id)
    return _detail(session, row, now, display_names(session))


def flag_page(session: Session, flag_id: str, now: datetime) -> Answer[FlagPage]:
    row = _flag_row(session, flag_id)
    names = display_names(session)
    flag = _detail(session, row, now, names)
    shared = sharing_items(session, [row.child_id], [row], names)
    page = FlagPage(flag.body, sorted(shared, key=lambda i: i.at))
    return Answer(page, flag.references)


def _flag_row(session: Session, flag_id: str) -> RaisedFlag:
    row = flags_repo.by_flag_id(session, flag_id)
    if row is None:
        raise FhirError.one(404, "not-found", f"Flag/{flag_id} is not known.", "flag_id")
    return row


def _with_reviews(
    session: Session, row: RaisedFlag, now: datetime, names: dict[str, str]
) -> FlagWithReviews:
    [item] = flag_items(session, [row], now.date())
    reviews = [review_view(r, names) for r in flags_repo.reviews_of(session, [row.pk])]
    return FlagWithReviews(**dict(item), reviews=reviews)


def _evidence(session: Session, row: RaisedFlag) -> list[CodedEvent]:
    events = chronology_repo.events_by_refs(session, row.evidence_events)
    # A joint appointment is coded per Patient (mother and baby): only children's events
    # are evidence, and an adult's own outcome is not disclosed through a child's flag.
    return [e for e in events if e.is_child]


def _sent(events: list[CodedEvent]) -> dict[str, str]:
    """The concern's organisation came from its evidence: their displays name it at worst."""
    return {
        e.organisation: e.organisation_name
        for e in events
        if e.organisation and e.organisation_name
    }


def _detail(
    session: Session, row: RaisedFlag, now: datetime, names: dict[str, str]
) -> Answer[FlagDetail]:
    base = _with_reviews(session, row, now, names)
    events = _evidence(session, row)
    codes = [row.organisation, *(e.organisation for e in events)]
    found = organisation_names(session, codes, _sent(events))
    details = []
    for e in events:
        fields = EventFields(**event_display(e))
        if fields.organisation:
            fields.organisation_name = found.get(fields.organisation)
        details.append(fields)
    flag = FlagDetail(**dict(base), evidence_details=details)
    flag.organisation_name = found.get(row.organisation or "")
    refs = {f"Flag/{row.flag_id}", f"Patient/{row.child_id}"}
    refs |= {f"Patient/{e.child_id}" for e in events}
    refs |= {f"{e.resource_type}/{e.resource_id}" for e in events}
    return Answer(flag, sorted(refs))
