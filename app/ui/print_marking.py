"""The printed pages' margin text: who printed the chronology and when, written into the
@page margin boxes of a stylesheet made for the person asking, so that every printed page
carries it (a marking in the page body shows on the first page only in some browsers)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from app.api.state import get_state
from app.services.access.audit import AuditNote
from app.ui.formats import date_time
from app.ui.guard import page_user

router = APIRouter(prefix="/ui")


def css_string(text: str) -> str:
    """`text` as a CSS string: nothing in a name can close it or start a rule."""
    safe = "".join(ch if ch.isprintable() and ch not in '"\\' else " " for ch in text)
    return f'"{safe}"'


@router.get("/print-marking.css")
async def print_marking(request: Request) -> Response:
    who = await page_user(request, AuditNote("read", None, query="print marking"))
    when = date_time(get_state(request).clock())
    css = marking_css(f"Printed by {who.name} on {when}")
    return Response(css, media_type="text/css", headers={"Cache-Control": "no-store"})


def marking_css(printed_by: str) -> str:
    """The stylesheet writing "OFFICIAL-SENSITIVE · `printed_by`" at the foot of every page."""
    line = f"OFFICIAL-SENSITIVE · {printed_by}"
    return f"@page {{ @bottom-left {{ content: {css_string(line)}; font-size: 9pt; }} }}\n"
