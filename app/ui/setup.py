"""Wiring the nurse's pages into the app: their routes, their static assets (the NHS.UK
frontend, vendored: no CDN, no build step) and how a page answers a refusal."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import RedirectResponse, Response
from fastapi.staticfiles import StaticFiles

from app.ui import (
    case_page,
    child_page,
    family_page,
    family_review_page,
    flag_page,
    pages,
    print_marking,
    print_pdf,
    rules_page,
    search_page,
    worklist_page,
)
from app.ui.guard import NotAllowed, SignInNeeded
from app.ui.render import page
from app.ui.view import PageError

STATIC = Path(__file__).parent / "static"
NOT_FOUND = (
    "We could not find that page, child, family or flag. The link may be wrong, or the record "
    "may have been merged into another: use Find a child to look for the child."
)
TITLES = {403: "You cannot do that", 404: "Page not found", 409: "That has changed"}


def install_ui(app: FastAPI) -> None:
    for module in (
        pages,
        worklist_page,
        search_page,
        case_page,
        child_page,
        family_page,
        family_review_page,
        flag_page,
        rules_page,
        print_marking,
        print_pdf,
    ):
        app.include_router(module.router, include_in_schema=False)
    app.mount("/ui/static", StaticFiles(directory=STATIC), name="ui-static")

    # Last, so every page and the static files come first: any other /ui/ path is a page
    # saying so, not the API's JSON.
    @app.get("/ui/{rest:path}", include_in_schema=False)
    async def no_such_page(request: Request, rest: str) -> Response:
        return _error(request, 404, NOT_FOUND)

    @app.exception_handler(SignInNeeded)
    async def sign_in(_: Request, exc: SignInNeeded) -> Response:
        return RedirectResponse(exc.location, status_code=303)

    @app.exception_handler(NotAllowed)
    async def not_allowed(request: Request, _: NotAllowed) -> Response:
        message = "These pages are for safeguarding nurses and admins."
        return _error(request, 403, message)

    @app.exception_handler(PageError)
    async def page_error(request: Request, exc: PageError) -> Response:
        # The service's own wording ("Patient/x not found") means nothing to a nurse.
        return _error(request, exc.status, NOT_FOUND if exc.status == 404 else exc.message)


def _error(request: Request, status: int, message: str) -> Response:
    title = TITLES.get(status, "There is a problem")
    return page(request, "error.html", {"who": None, "title": title, "message": message}, status)
