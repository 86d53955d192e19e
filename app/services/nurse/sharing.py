"""What was shared with whom about a child: every webhook notification the service sent to an
agency about the child's flags (delivered, failed or still pending), and what nurses shared
themselves and recorded ("discussed with the health visitor by phone"). Both are items of the
child's and the family's chronology, so the record of who knew what sits with the facts."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import cast

from sqlalchemy.orm import Session

from app.auth.principal import Principal
from app.fhir.errors import FhirError, Issue
from app.services.access.users import display_names
from app.services.common.answer import Answer
from app.services.nurse.shapes.chronology import Delivery, NotifiedItem, SharedItem
from app.store import sharing_repo, worklist_repo
from app.store.case_models import SharingRecord
from app.store.models import RaisedFlag

METHODS = {
    "phone": "By phone",
    "secure-email": "By secure email",
    "meeting": "At a meeting",
    "in-person": "In person",
    "letter": "By letter",
    "other": "Another way",
}
DELIVERY: dict[str, Delivery] = {"pending": "pending", "delivered": "delivered", "dead": "failed"}
NOTE_LIMIT = 4000
CLOCK_SKEW = timedelta(minutes=5)
EARLIEST = datetime(1900, 1, 1, tzinfo=UTC)  # before any child this service could hold


@dataclass(frozen=True)
class SharingInput:
    agency: str
    method: str
    shared_at: datetime
    note: str | None = None


def record_sharing(
    session: Session, child_id: str, given: SharingInput, who: Principal, now: datetime
) -> Answer[SharedItem]:
    """Keep what a nurse shared; 404 for an unknown child, 422 naming what is wrong."""
    if not worklist_repo.patients(session, [child_id]):
        raise FhirError.one(404, "not-found", f"No child {child_id}.", "child_id")
    problems = _problems(given, now)
    if problems:
        raise FhirError(422, problems)
    record = SharingRecord(
        child_id=child_id,
        agency=" ".join(given.agency.split()),
        method=given.method,
        shared_at=given.shared_at,
        note=given.note or None,
        recorded_by=who.id,
        recorded_at=now,
    )
    sharing_repo.add_record(session, record)
    session.flush()
    return Answer(shared_item(record, display_names(session)), [f"Patient/{child_id}"])


def _problems(given: SharingInput, now: datetime) -> list[Issue]:
    out = []
    if not given.agency.strip() or len(given.agency) > 200 or "\x00" in given.agency:
        out.append(Issue("value", "Name the agency (at most 200 characters).", "agency"))
    if given.method not in METHODS:
        known = ", ".join(METHODS)
        out.append(Issue("value", f"Say how it was shared: one of {known}.", "method"))
    aware = given.shared_at.tzinfo is not None
    if not aware or not EARLIEST <= given.shared_at <= now + CLOCK_SKEW:
        when = "When it was shared: a time with a zone, since 1900, not in the future."
        out.append(Issue("value", when, "shared_at"))
    if given.note is not None and (len(given.note) > NOTE_LIMIT or "\x00" in given.note):
        out.append(Issue("value", f"The note must be {NOTE_LIMIT} characters or fewer.", "note"))
    return out


def shared_item(r: SharingRecord, names: dict[str, str] | None = None) -> SharedItem:
    return SharedItem(
        at=r.shared_at,
        kind="shared",
        child_id=r.child_id,
        carer=None,
        agency=r.agency,
        method=r.method,
        note=r.note,
        recorded_by=r.recorded_by,
        recorded_by_name=(names or {}).get(r.recorded_by, r.recorded_by),
        recorded_at=r.recorded_at,
    )


def sharing_items(
    session: Session,
    child_ids: Sequence[str],
    flags: Sequence[RaisedFlag],
    names: dict[str, str],
) -> list[NotifiedItem | SharedItem]:
    """The chronology's items of what agencies were told, by webhook and by nurses."""
    child_of = {f.flag_id: (f.child_id, f.rule_id, f.reason_rules.split()) for f in flags}
    out: list[NotifiedItem | SharedItem] = []
    for message, agency, agency_type, payload in sharing_repo.notifications_about(
        session, child_of
    ):
        flag_id = (message.focus or "").split("/")[1]
        child_id, rule_id, reasons = child_of[flag_id]
        out.append(NotifiedItem(
            at=message.created_at,
            kind="notified",
            child_id=child_id,
            carer=None,
            agency=agency,
            agency_type=agency_type,
            flag_id=flag_id,
            rule_id=rule_id,
            reasons=reasons,
            payload=payload,
            event_number=message.event_number,
            # A state with no word of its own fails here, in the use case, not in a response.
            delivery=DELIVERY.get(message.state, cast(Delivery, message.state)),
            delivered_at=message.delivered_at,
        ))  # fmt: skip
    out += [shared_item(r, names) for r in sharing_repo.records_of(session, child_ids)]
    return out
