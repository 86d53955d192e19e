"""The nurse's worklist: raised flags filtered by rule, priority, the child's age band,
organisation, opening date and the case's owner; sorted; paged; counted by priority and by
rule. Each item says who owns the child's case."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from urllib.parse import urlencode

from sqlalchemy.orm import Session

from app.fhir.dates import parse_range
from app.fhir.errors import FhirError
from app.services.answer import Answer
from app.services.case_owner import owner_views
from app.services.nurse_view import flag_items
from app.store import worklist_repo
from app.store.worklist_repo import WorklistFilter

PRIORITIES = ("high", "medium", "low")
# Completed years at today's date, lower bound inclusive, upper exclusive (None: no upper).
# 18+ keeps an open flag findable once its child has had their 18th birthday.
AGE_BANDS: dict[str, tuple[int, int | None]] = {
    "0-1": (0, 1),
    "1-5": (1, 5),
    "5-11": (5, 11),
    "11-18": (11, 18),
    "18+": (18, None),
}
STATES = {
    "open": ("open",),
    "acknowledged": ("acknowledged",),
    # Still open: a nurse reviewed it, then its evidence was corrected or withdrawn.
    "evidence-changed": ("evidence-changed",),
    "all": ("open", "acknowledged", "evidence-changed"),  # every flag still open
    "closed": ("closed",),
    "withdrawn": ("withdrawn",),  # closed by the service: its rule no longer held
}
PATH = "/api/worklist"
FILTER_PARAMS = (
    *("rule", "priority", "age_band", "min_age_days", "max_age_days", "organisation"),
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
    opened_from: str | None = None
    opened_to: str | None = None
    state: str = "all"
    sort: str = "-priority"
    owner: str | None = None  # a username, or UNASSIGNED
    count: int = 20
    offset: int = 0


def worklist(session: Session, q: WorklistQuery, now: datetime) -> Answer[dict[str, Any]]:
    today = now.date()
    f = to_filter(q, today)
    counts = worklist_repo.worklist_counts(session, f)
    by_priority = dict.fromkeys(PRIORITIES, 0)
    by_rule: dict[str, int] = {}
    for priority, rule_ids, n in counts:
        by_priority[priority] = by_priority.get(priority, 0) + n
        for rule_id in rule_ids.split():
            by_rule[rule_id] = by_rule.get(rule_id, 0) + n
    total = sum(n for _, _, n in counts)
    rows = worklist_repo.worklist_page(session, f, q.sort, q.count, q.offset) if q.count else []
    items = flag_items(session, rows, today)
    owners = owner_views(session, [r.child_id for r in rows], today)
    for item, row in zip(items, rows, strict=True):
        item["owner"] = owners.get(row.child_id)
    more = q.count > 0 and q.offset + len(rows) < total
    body = {
        "total": total,
        "counts": {"by_priority": by_priority, "by_rule": dict(sorted(by_rule.items()))},
        "items": items,
        "next": next_link(q) if more else None,
    }
    refs = {f"Patient/{r.child_id}" for r in rows} | {f"Flag/{r.flag_id}" for r in rows}
    return Answer(body, sorted(refs))


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
