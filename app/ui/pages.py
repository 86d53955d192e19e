"""Server-rendered pages: sign in, sign out, home. Forms carry a CSRF token."""

from __future__ import annotations

import secrets
from datetime import timedelta
from functools import cache
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from starlette.concurrency import run_in_threadpool

from app.api.security import SESSION_COOKIE, current_principal
from app.api.state import get_state
from app.auth.principal import Principal
from app.fhir.errors import FhirError
from app.services import audit, users

LOGIN_CSRF_COOKIE = "wnb_login_csrf"
router = APIRouter(include_in_schema=False)
TEMPLATES = Path(__file__).parent / "templates"


@cache
def templates() -> Jinja2Templates:
    return Jinja2Templates(directory=TEMPLATES)


@router.get("/login", response_class=HTMLResponse)
async def login_page(request: Request) -> Response:
    return _login_form(request, None, 200)


@router.post("/login", response_class=HTMLResponse)
async def login(
    request: Request,
    username: Annotated[str, Form()],
    password: Annotated[str, Form()],
    csrf_token: Annotated[str, Form()],
) -> Response:
    state = get_state(request)
    expected = request.cookies.get(LOGIN_CSRF_COOKIE)
    if not expected or not secrets.compare_digest(expected, csrf_token):
        return _login_form(request, "The form expired; please try again.", 403)
    settings = state.settings
    now = state.clock()
    new = await run_in_threadpool(
        state.write,
        lambda s: users.login(
            s,
            username,
            password,
            now,
            settings.lockout_attempts,
            timedelta(minutes=settings.lockout_minutes),
            timedelta(minutes=settings.session_ttl_minutes),
        ),
    )
    if isinstance(new, str):
        who = Principal("user", username[:100], username[:100], None)
        await run_in_threadpool(
            state.refused, who, audit.AuditNote("login"), FhirError.one(401, "login", new)
        )
        return _login_form(request, new, 401)
    response = RedirectResponse("/", status_code=303)
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
    await run_in_threadpool(state.write, lambda s: users.logout(s, token))
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE)
    return response


@router.get("/", response_class=HTMLResponse)
async def home(request: Request) -> Response:
    if not request.cookies.get(SESSION_COOKIE):
        return RedirectResponse("/login", status_code=303)
    try:
        who = await current_principal(request)
    except FhirError:
        return RedirectResponse("/login", status_code=303)
    return templates().TemplateResponse(request, "home.html", {"who": who})


def _login_form(request: Request, error: str | None, status: int) -> Response:
    token = secrets.token_urlsafe(32)
    response = templates().TemplateResponse(
        request,
        "login.html",
        {"csrf_token": token, "error": error, "who": None},
        status_code=status,
    )
    settings = get_state(request).settings
    response.set_cookie(
        LOGIN_CSRF_COOKIE,
        token,
        httponly=True,
        samesite="strict",
        secure=not settings.is_development,
        max_age=1800,
    )
    return response
