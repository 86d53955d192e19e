"""Who is calling, and may they: sign-in (behind `state.PrincipalDep`) and scope checks."""

from __future__ import annotations

import math
import secrets

from fastapi import Request
from starlette.concurrency import run_in_threadpool

from app.api.client_identity import client_address
from app.api.request_context import route_of
from app.auth.principal import Principal
from app.fhir.errors import FhirError, Issue
from app.runtime import AppState
from app.services.access.audit import AuditNote
from app.services.access.authenticate import Unauthenticated

SESSION_COOKIE = "wnb_session"
CHALLENGE = 'Bearer realm="wnb", scope="system/*.rs"'


class AuthError(FhirError):
    """401 or 429, with the headers that tell the caller what to do."""

    def __init__(self, status: int, code: str, message: str, headers: dict[str, str]) -> None:
        super().__init__(status, [Issue(code, message)])
        self.headers = headers


async def current_principal(request: Request) -> Principal:
    """The caller from `Authorization: Bearer` or the session cookie; 401 without either,
    429 past the caller's rate limit."""
    # Not `state.get_state`: that module builds PrincipalDep from this one.
    state: AppState = request.app.state.wnb
    now = state.clock()
    header = request.headers.get("authorization", "")
    cookie = request.cookies.get(SESSION_COOKIE)
    try:
        if header[:7].lower() == "bearer ":
            # On the event loop while the process knows the client (no thread hand-off); a
            # client not seen for `auth_cache_seconds` is looked up in a worker thread.
            claims = state.auth.verified(header[7:].strip(), now)
            known = state.auth.cached_principal(claims)
            if known is None:
                known = await run_in_threadpool(state.auth.principal, state.reader, claims)
            who = known
        elif cookie:
            who = await run_in_threadpool(
                state.auth.session, state.reader, cookie, now, state.writer
            )
        else:
            raise Unauthenticated("authenticate with a bearer token from /auth/token or sign in")
    except Unauthenticated as exc:
        error = ', error="invalid_token"' if header else ""
        refusal = AuthError(401, "login", str(exc), {"WWW-Authenticate": CHALLENGE + error})
        stranger = Principal(
            "user" if cookie and not header else "client",
            "(unauthenticated)",
            "(unauthenticated)",
            None,
        )
        note = AuditNote("authenticate", None, query=f"{request.method} {route_of(request.scope)}")
        verdict = state.refusals.refuse(client_address(request), now)
        if verdict.wait == 0:
            await run_in_threadpool(state.refused, stranger, note, refusal)
            raise refusal from exc
        throttled = AuthError(
            429,
            "throttled",
            "Too many failed authentications from this address: slow down.",
            {"Retry-After": str(max(1, math.ceil(verdict.wait)))},
        )
        if verdict.summary:
            note.query = f"{verdict.summary} refused authentications from one address"
            await run_in_threadpool(state.refused, stranger, note, throttled)
        raise throttled from exc
    wait = state.limiter.check(who.key)
    if wait > 0:
        raise AuthError(
            429,
            "throttled",
            "Too many requests: slow down.",
            {"Retry-After": str(max(1, math.ceil(wait)))},
        )
    return who


SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
CSRF_HEADER = "x-csrf-token"


async def checked_principal(request: Request) -> Principal:
    """The caller, and for a browser session changing something, proof that the page asking
    is ours: the session's CSRF token in an X-CSRF-Token header. Tokens in an Authorization
    header cannot be sent by another site, so clients need no such proof."""
    who = await current_principal(request)
    if who.csrf_token is not None and request.method not in SAFE_METHODS:
        offered = request.headers.get(CSRF_HEADER, "")
        if not secrets.compare_digest(offered.encode(), who.csrf_token.encode()):
            raise FhirError.one(
                403,
                "forbidden",
                "A signed-in browser must send its CSRF "
                "token in the X-CSRF-Token header to change anything.",
                "X-CSRF-Token",
            )
    return who


async def require(
    state: AppState, who: Principal, resource: str, interaction: str, note: AuditNote
) -> None:
    """403 (recorded in the audit trail) unless the caller's scopes cover the interaction."""
    if who.may(resource, interaction):
        return
    exc = FhirError.one(403, "forbidden", f"Your scopes do not allow {interaction} of {resource}.")
    await run_in_threadpool(state.refused, who, note, exc)
    raise exc


async def require_all(
    state: AppState, who: Principal, note: AuditNote, *needs: tuple[str, str]
) -> None:
    """`require` for each (resource, interaction) a view needs."""
    for resource, interaction in needs:
        await require(state, who, resource, interaction, note)
