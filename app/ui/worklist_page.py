"""The worklist page (/ui/): one row per family, its children's concerns waiting for a nurse,
filtered, counted per reason, paged."""

from __future__ import annotations

from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import Response

from app.api.state import get_state
from app.services.access.audit import AuditNote
from app.services.nurse.shapes.worklist import WorklistFamily
from app.services.nurse.worklist import (
    AGE_BANDS,
    PRIORITIES,
    STATES,
    UNASSIGNED,
    WorklistQuery,
    worklist,
)
from app.ui.guard import page_user
from app.ui.render import page
from app.ui.view import audited

PAGE_SIZE = 20
FILTERS = ("rule", "priority", "age_band", "area", "state", "owner")
OWNER_CHOICES = {"me": "Mine", UNASSIGNED: "Nobody"}
router = APIRouter(prefix="/ui")


def query_of(request: Request, me: str) -> tuple[WorklistQuery, dict[str, str], int]:
    """The worklist query from the filter form. A value the form cannot send is ignored
    rather than refused: a stale bookmark still opens the worklist."""
    given = {k: request.query_params.get(k, "").strip()[:100] for k in FILTERS}
    if given["state"] not in STATES:
        given["state"] = "all"
    if given["age_band"] not in AGE_BANDS:
        given["age_band"] = ""
    if given["priority"] not in PRIORITIES:
        given["priority"] = ""
    if given["owner"] not in OWNER_CHOICES:
        given["owner"] = ""
    raw_page = request.query_params.get("page", "1")
    number = int(raw_page) if raw_page.isdigit() and 0 < int(raw_page) < 50_000 else 1
    q = WorklistQuery(
        rule=given["rule"] or None,
        priority=given["priority"] or None,
        age_band=given["age_band"] or None,
        area=given["area"] or None,
        state=given["state"],
        owner=me if given["owner"] == "me" else (given["owner"] or None),
        count=PAGE_SIZE,
        offset=(number - 1) * PAGE_SIZE,
    )
    return q, given, number


def link(filters: dict[str, str], **changes: str | int) -> str:
    params = {k: v for k, v in {**filters, **changes}.items() if v not in ("", None, 1)}
    if params.get("state") == "all":
        del params["state"]
    return "/ui/" + (f"?{urlencode(params)}" if params else "")


def family_name(family: WorklistFamily) -> str:
    """ "Jones family" from the children's surnames as sent (several: each once)."""
    surnames: list[str] = []
    for c in family.concerns:
        name = (c.child.name or "").split()
        if len(name) > 1 and name[-1] not in surnames:
            surnames.append(name[-1])
    return f"{' and '.join(surnames)} family" if surnames else "Family"


@router.get("/")
async def worklist_page(request: Request) -> Response:
    note = AuditNote("search", "Flag", query=str(request.query_params) or None)
    who = await page_user(request, note)
    q, filters, number = query_of(request, who.id)
    state = get_state(request)
    now = state.clock()
    body = await audited(request, who, note, lambda s: worklist(s, q, now))
    pages = max(1, -(-body.total // PAGE_SIZE))
    rules = sorted({r.id for r in state.rules.rules} if state.rules else set())
    context = {
        "who": who,
        "body": body,
        "filters": filters,
        "rules": sorted(set(rules) | set(body.counts.by_rule)),
        "states": list(STATES),
        "priorities": PRIORITIES,
        "age_bands": list(AGE_BANDS),
        "owner_choices": list(OWNER_CHOICES.items()),
        "page_number": number,
        "pages": pages,
        "previous": link(filters, page=number - 1) if number > 1 else None,
        "next": link(filters, page=number + 1) if number < pages else None,
        "rule_link": lambda rule: link(filters, rule=rule, page=1),
        "first": (number - 1) * PAGE_SIZE + 1,
        "family_name": family_name,
    }
    return page(request, "worklist.html", context)
