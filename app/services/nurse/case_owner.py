"""Owning a case: a nurse takes a child's case (or every child of a family) for herself or a
colleague, with a date by which she reviews it again. "My caseload" lists what she owns,
overdue reviews first. The owner belongs to the child, not to one flag, so a new flag for the
child lands with the nurse who already knows the family."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy.orm import Session

from app.auth.principal import Principal
from app.fhir.errors import FhirError
from app.fhir.priority import highest, priority_rank
from app.services.access.users import display_names, shown_name
from app.services.common.answer import Answer
from app.services.nurse.child_summary import children
from app.services.nurse.chronology import is_adult
from app.services.nurse.shapes.case import Caseload, CaseloadItem, OwnedChild, OwnerAnswer, Person
from app.services.nurse.shapes.concern import CaseOwnerView
from app.store import auth_repo, case_repo, family_repo, links_repo, worklist_repo
from app.store.case_models import CaseOwner

OWNER_ROLES = frozenset({"nurse", "admin"})


@dataclass(frozen=True)
class Assignment:
    """Who should own the case (None: nobody) and when it is next reviewed."""

    owner: str | None
    next_review: date | None = None


# assign_child or assign_family: (session, child or family id, assignment, who, now).
Assign = Callable[[Session, str, "Assignment", Principal, datetime], Answer[OwnerAnswer]]


def assign_child(
    session: Session, child_id: str, given: Assignment, who: Principal, now: datetime
) -> Answer[OwnerAnswer]:
    if not worklist_repo.patients(session, [child_id]):
        raise FhirError.one(404, "not-found", f"No child {child_id}.", "child_id")
    # A merged record's case is its surviving record's: flags are raised there only.
    surviving = links_repo.aliases_of(session, [child_id]).get(child_id, child_id)
    return _assign(session, [surviving], given, who, now)


def assign_family(
    session: Session, family_id: str, given: Assignment, who: Principal, now: datetime
) -> Answer[OwnerAnswer]:
    """Every child of the family now: not the adults of a household, not merged records."""
    members = family_repo.members(session, [family_id])[family_id]
    merged = links_repo.aliases_of(session, members)
    people = children(session, [m for m in members if m not in merged], now.date())
    stored = worklist_repo.patients(session, people)
    kids = sorted(k for k in stored if not is_adult(people[k], now))
    if not kids:
        raise FhirError.one(404, "not-found", f"No family {family_id} with children.", "family_id")
    return _assign(session, kids, given, who, now)


def _assign(
    session: Session, child_ids: list[str], given: Assignment, who: Principal, now: datetime
) -> Answer[OwnerAnswer]:
    if given.owner is None:
        case_repo.clear_owner(session, child_ids)
    else:
        account = auth_repo.user(session, given.owner)
        if account is None or account.disabled or account.role not in OWNER_ROLES:
            raise FhirError.one(
                422, "value", f"{given.owner!r} is not a nurse or admin who can sign in.", "owner"
            )
        case_repo.set_owner(session, child_ids, given.owner, given.next_review, who.id, now)
    session.flush()
    owners = owner_views(session, child_ids, now.date())
    body = OwnerAnswer(children=[OwnedChild(id=c, owner=owners.get(c)) for c in child_ids])
    return Answer(body, [f"Patient/{c}" for c in child_ids])


def owner_views(session: Session, child_ids: list[str], today: date) -> dict[str, CaseOwnerView]:
    """The owner of each child's case that has one, as pages and the API show it."""
    rows = case_repo.owners_of(session, child_ids)
    names = _names(session)
    return {c: owner_view(r, names, today) for c, r in rows.items()}


def owner_view(row: CaseOwner, names: dict[str, str], today: date) -> CaseOwnerView:
    return CaseOwnerView(
        username=row.owner,
        name=names.get(row.owner, row.owner),
        next_review=row.next_review.isoformat() if row.next_review else None,
        overdue=row.next_review is not None and row.next_review < today,
        assigned_by=names.get(row.assigned_by, row.assigned_by),
        assigned_at=row.assigned_at,
    )


def caseload(session: Session, owner: str, today: date) -> Answer[Caseload]:
    """The children whose cases `owner` holds: overdue reviews first, then by review date
    (none last), then the highest priority of their open flags."""
    rows = case_repo.owned_by(session, owner)
    ids = [r.child_id for r in rows]
    kids = children(session, ids, today)
    flags = case_repo.open_flags_of(session, ids)
    families = family_repo.families_of(session, ids)
    names = _names(session)
    items = []
    for r in rows:
        counts = flags.get(r.child_id, [])
        items.append(
            CaseloadItem(
                **dict(kids[r.child_id]),  # with the NHS number, which a caseload serves
                family_id=families.get(r.child_id),
                open_flags=sum(n for _, n in counts),
                highest_priority=highest(p for p, _ in counts) if counts else None,
                case=owner_view(r, names, today),
            )
        )
    items.sort(key=lambda i: (
        not i.case.overdue,
        i.case.next_review or "9999-12-31",
        priority_rank(i.highest_priority or ""),
        i.name or "",
    ))  # fmt: skip
    body = Caseload(owner=Person(username=owner, name=names.get(owner, owner)), items=items)
    return Answer(body, [f"Patient/{c}" for c in ids])


def colleagues(session: Session) -> list[dict[str, str]]:
    """Everyone a case can be given to, by name."""
    people = [u for u in auth_repo.all_users(session) if not u.disabled and u.role in OWNER_ROLES]
    return sorted(
        ({"username": u.username, "name": shown_name(u)} for u in people),
        key=lambda p: p["name"].lower(),
    )


def _names(session: Session) -> dict[str, str]:
    return display_names(session)


def case_panel(session: Session, child_ids: list[str], today: date) -> dict[str, Any]:
    """What a page needs to show and change the owners of these children's cases."""
    return {"owners": owner_views(session, child_ids, today), "colleagues": colleagues(session)}
