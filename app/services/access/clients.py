"""Machine clients: registration, revocation, and the OAuth 2.0 client credentials grant."""

from __future__ import annotations

import base64
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import unquote

import orjson
from sqlalchemy.orm import Session

from app.auth import scopes as smart
from app.auth.passwords import hash_secret, verify_secret
from app.auth.principal import Principal
from app.auth.tokens import (
    TokenError,
    issue_access_token,
    read_assertion_issuer,
    verify_client_assertion,
)
from app.services.access import audit
from app.services.access.audit import AuditNote
from app.store import auth_repo, outbox_repo, subscriptions_repo
from app.store.auth_models import ApiClient

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


class OAuthError(Exception):
    """An RFC 6749 error response: `error` code, description and HTTP status."""

    def __init__(self, status: int, error: str, description: str) -> None:
        super().__init__(description)
        self.status, self.error, self.description = status, error, description


@dataclass(frozen=True)
class NewClient:
    client_id: str
    client_secret: str | None
    scopes: str


def add_client(
    session: Session,
    name: str,
    scopes: str | None,
    role: str | None,
    jwks: dict[str, Any] | None,
    now: datetime,
) -> NewClient:
    """Register a client. Without a key set it gets a secret, shown this once, stored hashed."""
    if role is not None and role not in smart.ROLE_SCOPES:
        raise ValueError(f"unknown role {role!r}; one of {', '.join(smart.ROLE_SCOPES)}")
    text = scopes or (smart.ROLE_SCOPES[role] if role else "")
    granted = smart.normalise(smart.parse_scopes(text))
    if not granted:
        raise ValueError("a client needs --scopes or --role")
    if any(s.context != "system" for s in granted):
        raise ValueError("machine clients take system/ scopes")
    if jwks is not None and not isinstance(jwks.get("keys"), list):
        raise ValueError("the key set must be a JWKS: an object with a 'keys' list")
    secret = None if jwks else secrets.token_urlsafe(32)
    client = ApiClient(
        client_id=uuid.uuid4().hex,
        name=name,
        role=role,
        scopes=smart.render(granted),
        secret_hash=hash_secret(secret) if secret else None,
        jwks=orjson.dumps(jwks).decode() if jwks else None,
        created_at=now,
    )
    auth_repo.add(session, client)
    return NewClient(client.client_id, secret, client.scopes)


# Who a revocation from the command line is recorded as: the operator has no account here.
OPERATOR = Principal("user", "(command line)", "operator at the command line", "admin")
REVOKED = "the client was revoked"


def revoke_client(session: Session, client_id: str, now: datetime) -> None:
    """Refuse the client's tokens, switch its subscriptions off and drop what was still
    waiting to be sent to it: a revoked agency is told nothing more. Recorded in the trail."""
    client = auth_repo.client(session, client_id)
    if client is None:
        raise ValueError(f"no client {client_id}")
    client.revoked_at = client.revoked_at or now
    session.flush()
    switched = subscriptions_repo.switch_off_client(session, client_id, REVOKED, now)
    dropped = outbox_repo.drop_pending_of_client(session, client_id, REVOKED)
    note = AuditNote(
        "revoke",
        "Subscription" if switched else None,
        [f"Subscription/{sid}" for sid in switched],
        query=f"client revoke {client_id}",
    )
    detail = f"{len(switched)} subscriptions switched off, {dropped} pending messages dropped"
    audit.record(session, OPERATOR, note, now, description=detail)


def issue_token(
    session: Session,
    form: dict[str, str],
    authorization: str | None,
    token_url: str,
    secret_key: str,
    ttl_seconds: int,
    now: datetime,
) -> dict[str, Any]:
    """The client credentials grant: authenticate the client, narrow the scopes, sign."""
    if form.get("grant_type") != "client_credentials":
        raise OAuthError(400, "unsupported_grant_type", "grant_type must be client_credentials")
    client = _authenticate(session, form, authorization, token_url, now)
    registered = smart.parse_scopes(client.scopes)
    requested, unknown = (
        smart.parse_requested(form["scope"]) if form.get("scope") else (registered, [])
    )
    # RFC 6749 section 3.3: grant the part of the request the client holds and say so in
    # `scope`; refuse only when nothing of it can be granted.
    granted = smart.grant(requested, registered)
    if not granted:
        ignored = f" ({len(unknown)} not SMART resource scopes)" if unknown else ""
        raise OAuthError(
            400,
            "invalid_scope",
            "none of the requested scopes is registered for this client"
            f"{ignored}; registered: {client.scopes}",
        )
    scope = smart.render(granted)
    token, expires_in = issue_access_token(secret_key, client.client_id, scope, now, ttl_seconds)
    return {"access_token": token, "token_type": "bearer", "expires_in": expires_in, "scope": scope}


def _authenticate(
    session: Session,
    form: dict[str, str],
    authorization: str | None,
    token_url: str,
    now: datetime,
) -> ApiClient:
    if form.get("client_assertion_type") == ASSERTION_TYPE and form.get("client_assertion"):
        return _by_assertion(session, form["client_assertion"], token_url, now)
    client_id, secret = (
        _basic(authorization)
        if authorization
        else (form.get("client_id"), form.get("client_secret"))
    )
    if not client_id or not secret:
        raise OAuthError(
            401,
            "invalid_client",
            "authenticate with a client secret (HTTP Basic "
            "or client_id/client_secret) or a private_key_jwt client_assertion",
        )
    client = auth_repo.client(session, client_id)
    if not verify_secret(client.secret_hash if client else None, secret) or client is None:
        raise OAuthError(401, "invalid_client", "unknown client or wrong secret")
    return _usable(client)


def _by_assertion(session: Session, assertion: str, token_url: str, now: datetime) -> ApiClient:
    try:
        client_id = read_assertion_issuer(assertion)
        client = auth_repo.client(session, client_id)
        if client is None or not client.jwks:
            raise TokenError("no client with a registered key set has this id")
        jti, exp = verify_client_assertion(
            assertion, orjson.loads(client.jwks), client_id, token_url, now
        )
    except TokenError as exc:
        raise OAuthError(401, "invalid_client", str(exc)) from exc
    if auth_repo.assertion_seen(session, client_id, jti):
        raise OAuthError(401, "invalid_client", "client_assertion jti has been used before")
    auth_repo.remember_assertion(session, client_id, jti, exp)
    return _usable(client)


def _usable(client: ApiClient) -> ApiClient:
    if client.revoked_at is not None:
        raise OAuthError(401, "invalid_client", "this client has been revoked")
    return client


def _basic(header: str) -> tuple[str | None, str | None]:
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "basic":
        return None, None
    try:
        decoded = base64.b64decode(value, validate=True).decode()
    except (ValueError, UnicodeDecodeError):
        return None, None
    client_id, _, secret = decoded.partition(":")
    return unquote(client_id), unquote(secret)
