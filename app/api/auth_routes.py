"""OAuth 2.0 client credentials (SMART Backend Services) and the SMART discovery document."""

from __future__ import annotations

import math
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from app.api.client_identity import claimed_client, client_address
from app.api.state import get_state
from app.auth.principal import Principal
from app.auth.scopes import ROLE_SCOPES
from app.auth.tokens import ASSERTION_ALGORITHMS
from app.fhir.errors import FhirError
from app.services.access.audit import AuditNote
from app.services.access.clients import OAuthError, issue_token

router = APIRouter(tags=["auth"])
FORM = "application/x-www-form-urlencoded"
TOKEN_FORM_SCHEMA = {
    "type": "object",
    "required": ["grant_type"],
    "properties": {
        "grant_type": {"type": "string", "enum": ["client_credentials"]},
        "scope": {"type": "string"},
        "client_id": {"type": "string"},
        "client_secret": {"type": "string"},
        "client_assertion_type": {"type": "string"},
        "client_assertion": {"type": "string"},
    },
}


def token_url(request: Request) -> str:
    return f"{get_state(request).settings.base_url.rstrip('/')}/auth/token"


@router.post(
    "/auth/token",
    summary="Access token (client_credentials)",
    openapi_extra={
        "requestBody": {"required": True, "content": {FORM: {"schema": TOKEN_FORM_SCHEMA}}}
    },
    responses={
        400: {"description": "OAuth error"},
        401: {"description": "OAuth error"},
        415: {"description": "not a form"},
    },
)
async def token(request: Request) -> JSONResponse:
    state = get_state(request)
    if request.headers.get("content-type", "").split(";")[0].strip() != FORM:
        return _error(415, "invalid_request", f"send the request as {FORM}")
    form = await request.form()
    fields = {k: v for k, v in form.items() if isinstance(v, str)}
    authorization = request.headers.get("authorization")
    wait = state.credentials.wait(claimed_client(fields, authorization), client_address(request))
    if wait > 0:  # before any secret is hashed
        return _error(429, "slow_down", "too many token requests; wait and retry", wait)
    settings = state.settings
    now = state.clock()
    url = token_url(request)
    try:
        # Only an assertion writes (its jti, against replay): a secret is checked in a read
        # transaction, so a slow hash never holds SQLite's writer lock.
        unit_of_work = state.write if fields.get("client_assertion") else state.read
        body = await state.credentials.run(
            lambda: unit_of_work(
                lambda s: issue_token(
                    s,
                    fields,
                    authorization,
                    url,
                    settings.secret_key or "",
                    settings.token_ttl_seconds,
                    now,
                ),
            )
        )
    except OAuthError as exc:
        # The client id it claimed, never the secret or assertion it offered.
        claimed = claimed_client(fields, authorization)[:100]
        who = Principal("client", claimed, claimed, None)
        await run_in_threadpool(
            state.refused, who, AuditNote("token"), FhirError.one(exc.status, "login", exc.error)
        )
        return _error(exc.status, exc.error, exc.description)
    return JSONResponse(body, headers={"Cache-Control": "no-store", "Pragma": "no-cache"})


@router.get("/.well-known/smart-configuration", summary="SMART discovery document")
@router.get(
    "/fhir/.well-known/smart-configuration",
    summary="SMART discovery document at the FHIR base (SMART App Launch 2)",
)
async def smart_configuration(request: Request) -> dict[str, Any]:
    # SMART App Launch 2 looks for the document relative to the FHIR base; the root copy stays
    # for clients of the earlier drafts. Both are the same document.
    return {
        "token_endpoint": token_url(request),
        "grant_types_supported": ["client_credentials"],
        "token_endpoint_auth_methods_supported": [
            "private_key_jwt",
            "client_secret_basic",
            "client_secret_post",
        ],
        "token_endpoint_auth_signing_alg_values_supported": list(ASSERTION_ALGORITHMS),
        "scopes_supported": sorted({s for text in ROLE_SCOPES.values() for s in text.split()}),
        # Required by SMART App Launch 2 whatever the grants; this server issues no
        # authorization codes, so the statement only says plain would never be accepted.
        "code_challenge_methods_supported": ["S256"],
        "capabilities": [
            "client-confidential-asymmetric",
            "client-confidential-symmetric",
            "permission-v2",
        ],
    }


def _error(status: int, error: str, description: str, wait: float = 0) -> JSONResponse:
    headers = {"Cache-Control": "no-store"}
    if status == 401:
        headers["WWW-Authenticate"] = 'Basic realm="wnb"'
    if wait > 0:
        headers["Retry-After"] = str(max(1, math.ceil(wait)))
    return JSONResponse(
        {"error": error, "error_description": description}, status_code=status, headers=headers
    )
