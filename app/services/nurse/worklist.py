"""The nurse's worklist: one row per family (a child with no family is a family of one),
holding its children's concerns that match the filters (reason, priority, the child's age
band, organisation or area, opening date, state, the case's owner). Sorted by the highest
priority, then families with a child on a plan, looked after or in need, then with an infant,
then the longest waiting; paged by family; counted by concern. Each concern says who owns the
child's case."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import cast
from urllib.parse import urlencode

from sqlalchemy.orm import Session

from app.fhir.concern_state import CLOSED_STATES, OPEN_STATES, ConcernState
from app.fhir.dates import parse_range
from app.fhir.errors import FhirError
from app.services.common.answer import Answer
from app.services.nurse.case_owner import owner_views
from app.services.nurse.child_summary import children
from app.services.nurse.nurse_view import flag_items
from app.services.nurse.shapes.concern import Priority, WorklistItem
from app.services.nurse.shapes.worklist import (
    Counts,
    FamilyCounts,
    FamilyLinks,
    FamilyStatus,
    Status,
    WorklistFamily,
    WorklistPage,
)
from app.store import worklist_repo
from app.store.worklist_repo import WorklistFilter

PRIORITIES: tuple[Priority, ...] = ("high", "medium", "low")
# Completed years at today's date, lower bound inclusive, upper exclusive (None: no upper).
# 18+ keeps an open flag findable once its child has had their 18th birthday.
AGE_BANDS: dict[str, tuple[int, int | None]] = {
    "0-1": (0, 1),
    "1-5": (1, 5),
    "5-11": (5, 11),
    "11-18": (11, 18),
    "18+": (18, None),
}
# A state filter's words: each state alone (see `ConcernState`), and "all" for every flag
# still open.
STATES: dict[str, tuple[ConcernState, ...]] = {
    **{s: (s,) for s in OPEN_STATES},
    "all": OPEN_STATES,
    **{s: (s,) for s in CLOSED_STATES},
}
# Waiting for a nurse to look.
UNREVIEWED = frozenset({ConcernState.OPEN, ConcernState.EVIDENCE_CHANGED})
PATH = "/api/worklist"
FILTER_PARAMS = (
    *("rule", "priority", "age_band", "min_age_days", "max_age_days", "organisation", "area"),
    *("opened_from", "opened_to", "state", "sort", "owner"),
)
UNASSIGNED = "unassigned"  # the owner filter's word for a case nobody owns


@dataclass(frozen=True)
class WorklistQuery:
    """The worklist's query parameters, already typed by the edge (names as in the URL)."""

    rule: str | None = None
    priority: str | None = None
    age_band: str | None = None
    min_age_days: int | None = None
    max_age_days: int | None = None
    organisation: str | None = None
    area: str | None = None
    opened_from: str | None = None
    opened_to: str | None = None
    state: str = "all"
    sort: str = "-priority"
    owner: str | None = None  # a username, or UNASSIGNED
    count: int = 20
    offset: int = 0


def worklist(session: Session, q: WorklistQuery, now: datetime) -> Answer[WorklistPage]:
    today = now.date()
    f = to_filter(q, today)
    counts = worklist_repo.worklist_counts(session, f)
    by_priority: dict[str, int] = dict.fromkeys(PRIORITIES, 0)
    by_rule: dict[str, int] = {}
    for priority, rule_ids, n in counts:
        by_priority[priority] = by_priority.get(priority, 0) + n
        for rule_id in rule_ids.split():
            by_rule[rule_id] = by_rule.get(rule_id, 0) + n
    concerns = sum(n for _, _, n in counts)
    infant_born_after = _midnight(_years_before(today, 1))
    families: list[worklist_repo.FamilyRow] = []
    if not concerns:
        total = 0
    elif q.count:
        families, total = worklist_repo.family_page(
            session, f, q.sort, q.count, q.offset, now, infant_born_after
        )
    else:
        total = worklist_repo.family_count(session, f)
    items = _family_items(session, f, q.sort, families, now)
    more = q.count > 0 and q.offset + len(families) < total
    body = WorklistPage(
        total=total,
        counts=Counts(
            families=total,
            concerns=concerns,
            by_priority=by_priority,
            by_rule=dict(sorted(by_rule.items())),
        ),
        items=items,
        next=next_link(q) if more else None,
    )
    shown = [c for i in items for c in i.concerns]
    refs = {f"Patient/{c.child.id}" for c in shown} | {f"Flag/{c.flag_id}" for c in shown}
    # A sibling named for their plan is shown too, concern or not: the audit names them.
    refs |= {f"Patient/{s.child_id}" for i in items for s in i.statuses}
    return Answer(body, sorted(refs))


def _family_items(
    session: Session,
    f: WorklistFilter,
    sort: str,
    families: list[worklist_repo.FamilyRow],
    now: datetime,
) -> list[WorklistFamily]:
    """Each family's row: its matching concerns (one per child while open), their owners,
    the statuses holding now for its children, and what orders it."""
    ids = [fam.family_id for fam in families]
    pairs = worklist_repo.concerns_of_families(session, f, ids, sort)
    rows = [row for _, row in pairs]
    views = flag_items(session, rows, now.date())
    owners = owner_views(session, [r.child_id for r in rows], now.date())
    by_family: dict[str, list[WorklistItem]] = {fid: [] for fid in ids}
    for (fid, row), view in zip(pairs, views, strict=True):
        view.owner = owners.get(row.child_id)
        by_family[fid].append(view)
    statuses = worklist_repo.statuses_of_families(session, ids, now)
    # A sibling on a plan with no concern of their own is named too: who is on the plan
    # matters more than whose appointment was missed.
    held = {child for pairs_ in statuses.values() for child, _ in pairs_}
    names = {k: v.name for k, v in children(session, sorted(held), now.date()).items()}
    items = []
    for fam in families:
        concerns = by_family[fam.family_id]
        items.append(
            WorklistFamily(
                family_id=fam.family_id,
                priority=PRIORITIES[fam.top_rank] if fam.top_rank < 3 else "low",
                statuses=[
                    # The stored word is the shape's; pydantic checks it as the row is built.
                    FamilyStatus(child_id=child, name=names.get(child), status=cast(Status, s))
                    for child, s in statuses.get(fam.family_id, [])
                ],
                has_infant=fam.has_infant,
                waiting_since=fam.waiting_since,
                counts=FamilyCounts(
                    children=len({c.child.id for c in concerns}),
                    concerns=len(concerns),
                    unreviewed=sum(c.state in UNREVIEWED for c in concerns),
                ),
                concerns=concerns,
                links=FamilyLinks(family=f"/api/families/{fam.family_id}/chronology"),
            )
        )
    return items


def to_filter(q: WorklistQuery, today: date) -> WorklistFilter:
    priorities = _list(q.priority)
    wrong = [p for p in priorities if p not in PRIORITIES]
    if wrong:
        raise _bad("priority", f"Unknown priority {wrong[0]!r}; use high, medium or low.")
    born_from: list[datetime] = []
    born_before: list[datetime] = []
    if q.age_band is not None:
        youngest, oldest = AGE_BANDS[q.age_band]
        if oldest is not None:
            born_from.append(_midnight(_years_before(today, oldest) + timedelta(days=1)))
        born_before.append(_midnight(_years_before(today, youngest) + timedelta(days=1)))
    if q.min_age_days is not None:
        born_before.append(_midnight(today - timedelta(days=q.min_age_days - 1)))
    if q.max_age_days is not None:
        born_from.append(_midnight(today - timedelta(days=q.max_age_days)))
    low, high = q.min_age_days, q.max_age_days
    if low is not None and high is not None and low > high:
        raise _bad("min_age_days", "min_age_days is larger than max_age_days.")
    return WorklistFilter(
        states=STATES[q.state],
        rules=tuple(_list(q.rule)),
        priorities=tuple(priorities),
        organisation=q.organisation,
        area=q.area,
        opened_from=_date_bound("opened_from", q.opened_from, 0),
        opened_before=_date_bound("opened_to", q.opened_to, 1),
        born_from=max(born_from, default=None),
        born_before=min(born_before, default=None),
        owner=q.owner,
        unassigned=q.owner == UNASSIGNED,
    )


def next_link(q: WorklistQuery) -> str:
    defaults = WorklistQuery()
    params = [
        (name, str(getattr(q, name)))
        for name in FILTER_PARAMS
        if getattr(q, name) != getattr(defaults, name)
    ]
    params += [("_count", str(q.count)), ("_offset", str(q.offset + q.count))]
    return f"{PATH}?{urlencode(params)}"


def _list(value: str | None) -> list[str]:
    return [v.strip() for v in (value or "").split(",") if v.strip()]


def _years_before(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February in a year that has none
        return day.replace(year=day.year - years, day=28)


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time(), tzinfo=UTC)


def _date_bound(name: str, value: str | None, end: int) -> datetime | None:
    """The start (end=0) or the exclusive end (end=1) of a FHIR date or dateTime."""
    if value is None:
        return None
    try:
        span = parse_range(value)
    except (ValueError, OverflowError):  # a date at the end of the calendar
        span = None
    if span is None:
        raise _bad(name, f"{name} must be a date (2026-06-01) or a dateTime with a zone.")
    return span[end]


def _bad(name: str, message: str) -> FhirError:
    return FhirError.one(400, "value", message, name)
