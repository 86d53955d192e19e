"""Who may see the nurse's pages: a signed-in nurse or admin. Anyone else is sent to sign in
(and brought back afterwards) or shown a refusal, which the audit trail records."""

from __future__ import annotations

import re
import secrets
from urllib.parse import urlencode

from fastapi import Request
from starlette.concurrency import run_in_threadpool

from app.api.security import SESSION_COOKIE, current_principal
from app.api.state import get_state
from app.auth.principal import Principal
from app.fhir.errors import FhirError
from app.services.access.audit import AuditNote
from app.ui.view import PageError

PAGE_ROLES = frozenset({"nurse", "admin"})
SAFE_PATH = re.compile(r"/(?!/)[A-Za-z0-9\-._~/?=&%+,:;@!]*")


class SignInNeeded(Exception):
    """No live session: the page answers with a redirect to the sign-in form."""

    def __init__(self, location: str) -> None:
        self.location = location


class NotAllowed(Exception):
    """Signed in (or holding a token) but not as a nurse or admin."""


def sign_in_url(request: Request, reason: str) -> str:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    if target == "/ui/" and reason == "sign-in":  # just arriving: nothing to explain
        return "/login?" + urlencode({"next": target})
    return "/login?" + urlencode({"next": target, "reason": reason})


async def page_user(request: Request, note: AuditNote) -> Principal:
    """The nurse or admin asking for a page. Raises SignInNeeded or NotAllowed."""
    try:
        who = await current_principal(request)
    except FhirError as exc:
        if exc.status == 429:
            raise
        reason = "expired" if request.cookies.get(SESSION_COOKIE) else "sign-in"
        raise SignInNeeded(sign_in_url(request, reason)) from exc
    if who.role not in PAGE_ROLES:
        refusal = FhirError.one(403, "forbidden", "The nurse's pages are for nurses and admins.")
        await run_in_threadpool(get_state(request).refused, who, note, refusal)
        raise NotAllowed
    return who


async def checked_form_user(request: Request, note: AuditNote, csrf_token: str) -> Principal:
    """The signed-in nurse posting a form, whose CSRF token must match her session's."""
    who = await page_user(request, note)
    if who.csrf_token is not None and not secrets.compare_digest(
        who.csrf_token.encode(), csrf_token.encode()
    ):
        refusal = FhirError.one(403, "forbidden", "Missing or wrong CSRF token.", "csrf_token")
        await run_in_threadpool(get_state(request).refused, who, note, refusal)
        raise PageError(403, "The form has expired. Go back, reload the page and try again.")
    return who


def safe_next(target: str | None) -> str:
    """Only a path on this site: never '//evil.example', 'https://...' or '/<tab>/evil' (browsers
    drop tabs and newlines, and read a backslash as a slash: each makes an open redirect)."""
    if not target or not SAFE_PATH.fullmatch(target):
        return "/ui/"
    return target
