"""Finding a child (/ui/children?q=...): by NHS number, name or date of birth, from the search
box on every page. Each result shows the child's family."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from app.api.state import get_state
from app.fhir.errors import FhirError
from app.fhir.person_query import person_search
from app.services.access.audit import AuditNote
from app.services.nurse.child_search import find_children
from app.ui.guard import page_user
from app.ui.render import page
from app.ui.view import audited

router = APIRouter(prefix="/ui")


@router.get("/children")
async def search_page(request: Request, q: Annotated[str, Query(max_length=200)] = "") -> Response:
    note = AuditNote("search", "Patient", query=f"q={q}" if q else None)
    who = await page_user(request, note)
    context = {"who": who, "q": q, "results": None, "more": False, "error": None}
    if q.strip():
        try:
            person_search(q)  # a query that cannot be searched is said inline, not audited
        except FhirError as exc:
            context["error"] = exc.issues[0].diagnostics
            return page(request, "search.html", context, 400)
        today = get_state(request).clock().date()
        found = await audited(request, who, note, lambda s: find_children(s, q, today))
        context.update(results=found.results, more=found.more)
    return page(request, "search.html", context)
