"""The printed chronology as a PDF made on the server (WeasyPrint): the same page as the print
view, with the same marking on every page (OFFICIAL-SENSITIVE, who printed it and when, page
n of m) and no link URLs, for a strategy meeting whose minutes need a file, not a printer.
Audited as the print view is: a disclosure naming every child shown.

Only the service's own stylesheets and images are read while rendering (from the package,
never over the network): anything else a page names is refused."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import anyio
from fastapi import APIRouter, Request
from fastapi.responses import Response

from app.api.nurse_params import Id
from app.api.state import get_state
from app.services.access.audit import AuditNote
from app.ui.child_page import print_child
from app.ui.family_page import print_family
from app.ui.formats import date_time
from app.ui.guard import page_user
from app.ui.print_marking import marking_css

log = logging.getLogger("wnb")
router = APIRouter(prefix="/ui")
STATIC = Path(__file__).parent / "static"
# Every page of the file says what it is, as a printed sheet does.
PDF_PAGE = "@page { size: A4; }"


@router.get("/children/{patient_id}/print.pdf")
async def child_pdf(patient_id: Id, request: Request) -> Response:
    """The child's chronology as a PDF."""
    return await _pdf(request, lambda: print_child(patient_id, request, "print chronology (PDF)"))


@router.get("/families/{family_id}/print.pdf")
async def family_pdf(family_id: Id, request: Request) -> Response:
    """The family's chronology as a PDF."""
    return await _pdf(request, lambda: print_family(family_id, request, "print chronology (PDF)"))


async def _pdf(request: Request, printed: Callable[[], Awaitable[Response]]) -> Response:
    page = await printed()
    if page.status_code != 200 or not page.headers.get("content-type", "").startswith("text/html"):
        return page  # a refusal or a page that does not exist: as the print view answers
    who = await page_user(request, AuditNote("read", None, query="print marking"))
    line = f"Printed by {who.name} on {date_time(get_state(request).clock())}"
    html = bytes(page.body).decode()
    try:
        pdf = await anyio.to_thread.run_sync(_render, html, marking_css(line))
    except OSError:  # Pango is missing on this machine (WeasyPrint loads it on first use)
        log.error("PDF printing needs the Pango library (Debian: libpango-1.0-0)")
        return Response(
            "A PDF cannot be made on this server; use Print in your browser instead.",
            status_code=503,
            media_type="text/plain",
        )
    return Response(
        pdf,
        media_type="application/pdf",
        headers={
            "Content-Disposition": 'attachment; filename="chronology.pdf"',
            "Cache-Control": "no-store",
        },
    )


def _render(html: str, marking: str) -> bytes:
    # Imported here: WeasyPrint loads Pango at import, which a process that never prints
    # need not pay for.
    from weasyprint import CSS, HTML
    from weasyprint.urls import URLFetcher, URLFetcherResponse

    class OwnFiles(URLFetcher):
        """The service's own stylesheets and images, read from the package; nothing else."""

        def fetch(self, url: str, headers: Any = None) -> URLFetcherResponse:
            path = urlsplit(url).path
            if path == "/ui/print-marking.css":
                return URLFetcherResponse(url, marking.encode(), {"Content-Type": "text/css"})
            if path.startswith("/ui/static/"):
                found = (STATIC / path.removeprefix("/ui/static/")).resolve()
                if found.is_relative_to(STATIC.resolve()) and found.is_file():
                    kind = "text/css" if found.suffix == ".css" else "application/octet-stream"
                    return URLFetcherResponse(url, found.read_bytes(), {"Content-Type": kind})
            raise ValueError(f"not fetched while printing: {path}")

    document = HTML(string=html, base_url="https://wnb.invalid/", url_fetcher=OwnFiles())
    return bytes(document.write_pdf(stylesheets=[CSS(string=PDF_PAGE)]))
