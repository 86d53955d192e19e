"""Signing in and out. Forms carry a CSRF token; a nurse whose session ended is brought back
to the page they were on once they sign in again."""

from __future__ import annotations

import secrets
from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from app.api.audited import audited
from app.api.client_identity import client_address
from app.api.security import SESSION_COOKIE, current_principal
from app.api.state import get_state
from app.auth import login_csrf
from app.auth.principal import Principal
from app.fhir.errors import FhirError
from app.services.access import audit, users
from app.services.common.answer import Answer
from app.ui.guard import safe_next
from app.ui.render import page

LOGIN_CSRF_COOKIE = "wnb_login_csrf"
router = APIRouter(include_in_schema=False)
REASONS = {
    "expired": "Your session has ended, so you need to sign in again. "
    "You will go back to the page you were on.",
    "sign-in": "Sign in to see that page.",
    "signed-out": "You have signed out.",
}


@router.get("/login", response_class=HTMLResponse)
async def login_page(request: Request) -> Response:
    reason = REASONS.get(request.query_params.get("reason", ""))
    return _login_form(request, None, 200, reason)


@router.post("/login", response_class=HTMLResponse)
async def login(
    request: Request,
    username: Annotated[str, Form()],
    password: Annotated[str, Form()],
    csrf_token: Annotated[str, Form()],
    next_page: Annotated[str, Form(alias="next")] = "/ui/",
) -> Response:
    state = get_state(request)
    nonce = request.cookies.get(LOGIN_CSRF_COOKIE)
    if not login_csrf.valid(state.settings.secret_key or "", nonce, csrf_token):
        return _login_form(request, "The form expired; please try again.", 403, next_page=next_page)
    settings = state.settings
    now = state.clock()
    address = client_address(request)
    # Throttled before the password is hashed; the hash runs on its own pool.
    if state.credentials.wait(username, address) > 0:
        return _login_form(request, users.REFUSED, 429)
    new = await state.credentials.run(
        lambda: state.write(
            lambda s: users.login(
                s,
                username,
                password,
                address,
                now,
                settings.lockout_attempts,
                timedelta(minutes=settings.lockout_minutes),
                timedelta(minutes=settings.session_ttl_minutes),
                timedelta(minutes=settings.session_idle_minutes),
            )
        )
    )
    if isinstance(new, str):
        who = Principal("user", username[:100], username[:100], None)
        await run_in_threadpool(
            state.refused, who, audit.AuditNote("login"), FhirError.one(401, "login", new)
        )
        return _login_form(request, new, 401, next_page=next_page)
    response = RedirectResponse(safe_next(next_page), status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        new.token,
        max_age=settings.session_ttl_minutes * 60,
        httponly=True,
        samesite="strict",
        secure=not settings.is_development,
    )
    response.delete_cookie(LOGIN_CSRF_COOKIE)
    return response


@router.post("/logout")
async def logout(request: Request, csrf_token: Annotated[str, Form()]) -> Response:
    who = await current_principal(request)
    if who.csrf_token is None or not secrets.compare_digest(who.csrf_token, csrf_token):
        raise FhirError.one(403, "forbidden", "Missing or wrong CSRF token.", "csrf_token")
    state = get_state(request)
    token = request.cookies.get(SESSION_COOKIE, "")
    note = audit.AuditNote("logout")

    def end_session(session: Session) -> Answer[None]:
        users.logout(session, token)
        return Answer(None)  # names no record: the session ended is the caller's own

    await audited(state, who, note, (), end_session)
    response = RedirectResponse("/login?reason=signed-out", status_code=303)
    response.delete_cookie(SESSION_COOKIE)
    return response


@router.get("/", response_class=HTMLResponse)
async def home() -> Response:
    return RedirectResponse("/ui/", status_code=303)


def _login_form(
    request: Request,
    error: str | None,
    status: int,
    reason: str | None = None,
    next_page: str | None = None,
) -> Response:
    settings = get_state(request).settings
    nonce, token = login_csrf.new_pair(settings.secret_key or "")
    target = safe_next(next_page or request.query_params.get("next"))
    context = {"csrf_token": token, "error": error, "who": None, "reason": reason, "next": target}
    response = page(request, "login.html", context, status)
    response.set_cookie(
        LOGIN_CSRF_COOKIE,
        nonce,
        httponly=True,
        samesite="strict",
        secure=not settings.is_development,
        max_age=1800,
    )
    return response
