"""Turning a bearer token or a session cookie into a Principal."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from app.auth import scopes as smart
from app.auth.principal import Principal
from app.auth.tokens import AccessClaims, TokenError, check_expiry, verify_access_token
from app.services.access.users import extend_session, principal_for_session, session_extension
from app.store import auth_repo
from app.store.read_session import reading

TOKENS_KEPT = 10_000  # verified tokens remembered per process


class Unauthenticated(Exception):
    """No usable credentials; the message says why (safe to show)."""


class Authenticator:
    """Verifies access tokens. A client's revocation is looked up in the database at most every
    `cache_seconds` per process, so the hot path rarely pays a query for it."""

    def __init__(
        self,
        secret_key: str,
        cache_seconds: float,
        session_idle: timedelta = timedelta(minutes=30),
        session_ttl: timedelta = timedelta(hours=8),
    ) -> None:
        self._secret = secret_key
        self._ttl = cache_seconds
        self._idle = session_idle
        self._session_ttl = session_ttl
        self._clients: dict[str, tuple[float, tuple[str, str | None, bool]]] = {}
        self._tokens: dict[str, AccessClaims] = {}

    def verified(self, token: str, now: datetime) -> AccessClaims:
        """The claims of a bearer token; Unauthenticated if forged, altered or expired. Cheap
        enough for the event loop: a token's signature is checked once per process (a string
        this server signed stays signed), its expiry on every use."""
        claims = self._tokens.get(token)
        try:
            if claims is None:
                claims = verify_access_token(self._secret, token, now)
                if len(self._tokens) >= TOKENS_KEPT:
                    self._tokens.clear()  # bounded: a flood of tokens costs a re-check each
                self._tokens[token] = claims
            else:
                check_expiry(claims, now)
        except TokenError as exc:
            raise Unauthenticated(str(exc)) from exc
        return claims

    def cached_principal(self, claims: AccessClaims) -> Principal | None:
        """The token's caller from what this process already knows of its client, without a
        query (so without leaving the event loop); None when the client must be looked up."""
        cached = self._clients.get(claims.client_id)
        if cached is None or time.monotonic() - cached[0] >= self._ttl:
            return None
        return _principal(claims, cached[1])

    def principal(self, reader: Callable[[], Session], claims: AccessClaims) -> Principal:
        """The token's caller, its client looked up at most every `cache_seconds`."""
        return _principal(claims, self._client(reader, claims.client_id))

    def session(
        self,
        reader: Callable[[], Session],
        token: str,
        now: datetime,
        writer: Callable[[], Session] | None = None,
    ) -> Principal:
        """The signed-in person; each use pushes the idle end forward (with `writer`)."""
        with reading(reader) as session:
            principal = principal_for_session(session, token, now)
            until = (
                session_extension(session, token, now, self._idle, self._session_ttl)
                if principal is not None and writer is not None
                else None
            )
        if principal is None:
            raise Unauthenticated("the session has ended; sign in again")
        if until is not None and writer is not None:
            with writer() as session:
                extend_session(session, token, until)
                session.commit()
        return principal

    def _client(
        self, reader: Callable[[], Session], client_id: str
    ) -> tuple[str, str | None, bool]:
        cached = self._clients.get(client_id)
        if cached is not None and time.monotonic() - cached[0] < self._ttl:
            return cached[1]
        with reading(reader) as session:
            row = auth_repo.client(session, client_id)
            info = (row.name, row.role, row.revoked_at is not None) if row else ("", None, True)
        self._clients[client_id] = (time.monotonic(), info)
        return info


def _principal(claims: AccessClaims, client: tuple[str, str | None, bool]) -> Principal:
    name, role, revoked = client
    if revoked:
        raise Unauthenticated("the client of this token has been revoked")
    return Principal(
        kind="client",
        id=claims.client_id,
        name=name,
        role=role,
        scopes=smart.parse_scopes(claims.scope),
    )
