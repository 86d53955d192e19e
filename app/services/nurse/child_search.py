"""Finding a child: by NHS number, name, date of birth, or part of a name with a date of
birth. Each result names the child's family now, so a nurse sees whom a child lives with
before opening a page. Audited as a search naming every patient the answer showed."""

from __future__ import annotations

from datetime import date

from sqlalchemy.orm import Session

from app.fhir.person_query import person_search
from app.fhir.search_query import parse_search
from app.services.common.answer import Answer
from app.services.nurse.child_summary import child_summary, children
from app.services.nurse.shapes.search import ChildSearch, FoundChild, FoundPerson
from app.store import family_repo, search_repo

MAX_RESULTS = 50


def find_children(
    session: Session, text: str, today: date, limit: int = MAX_RESULTS
) -> Answer[ChildSearch]:
    """Patients matching `text` (see `person_search`), at most `limit` sorted by name, each
    with the other members of its family; `more` says the search should be narrowed."""
    params = person_search(text)
    query = parse_search("Patient", params, limit + 1, limit + 1)
    rows = list(search_repo.search_page(session, query))
    more = len(rows) > limit
    rows = rows[:limit]
    families = family_repo.families_of(session, [r.id for r in rows])
    members = family_repo.members(session, set(families.values()))
    everyone = sorted({m for ms in members.values() for m in ms} | {r.id for r in rows})
    known = children(session, everyone, today)
    results = []
    for row in rows:
        family_id = families.get(row.id)
        others = [m for m in members.get(family_id or "", []) if m != row.id]
        results.append(
            FoundChild(
                **dict(child_summary(row.id, row, today)),
                family_id=family_id,
                family=[FoundPerson(**dict(known[m])) for m in others],
            )
        )
    results.sort(key=lambda r: ((r.name or "").casefold(), r.birth_date or "", r.id))
    body = ChildSearch(query=text, results=results, more=more)
    return Answer(body, [f"Patient/{p}" for p in everyone if p in known])
