"""People: accounts, sign-in with lock-out, sessions."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from app.auth import scopes as smart
from app.auth.passwords import hash_secret, verify_secret
from app.auth.principal import Principal
from app.store import auth_repo
from app.store.models import UserAccount, UserSession

MIN_PASSWORD = 12


LOCKED = "Too many failed sign-ins: this account is locked for a while."
WRONG = "Wrong username or password."


@dataclass(frozen=True)
class NewSession:
    token: str  # goes in the cookie; only its hash is stored
    csrf_token: str
    expires_at: datetime


def add_user(session: Session, username: str, password: str, role: str, now: datetime) -> None:
    if role not in smart.USER_ROLE_SCOPES:
        raise ValueError(f"role must be one of {', '.join(smart.USER_ROLE_SCOPES)}")
    if len(password) < MIN_PASSWORD:
        raise ValueError(f"the password needs at least {MIN_PASSWORD} characters")
    if not username or len(username) > 100:
        raise ValueError("the username must be 1 to 100 characters")
    if auth_repo.user(session, username) is not None:
        raise ValueError(f"user {username!r} already exists")
    auth_repo.add(
        session,
        UserAccount(
            username=username,
            password_hash=hash_secret(password),
            role=role,
            failed_attempts=0,
            created_at=now,
        ),
    )


def login(
    session: Session,
    username: str,
    password: str,
    now: datetime,
    attempts: int,
    lockout: timedelta,
    ttl: timedelta,
) -> NewSession | str:
    """A new session, or why not (safe to show: it never says whether the name exists).
    After `attempts` failures in a row the account is locked for `lockout`. A refusal is
    returned, not raised, so the caller commits the failure count with it."""
    account = auth_repo.user(session, username)
    if account is not None and account.locked_until and account.locked_until > now:
        return LOCKED
    ok = verify_secret(account.password_hash if account else None, password)
    if account is None or not ok or account.disabled:
        if account is not None:
            failures = account.failed_attempts + 1
            locked = now + lockout if failures >= attempts else None
            auth_repo.set_login_state(session, username, 0 if locked else failures, locked)
        return WRONG
    auth_repo.set_login_state(session, username, 0, None)
    token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    auth_repo.add(
        session,
        UserSession(
            token_hash=token_hash(token),
            username=username,
            csrf_token=csrf,
            expires_at=now + ttl,
            created_at=now,
        ),
    )
    return NewSession(token, csrf, now + ttl)


def logout(session: Session, token: str) -> None:
    auth_repo.end_session(session, token_hash(token))


def principal_for_session(session: Session, token: str, now: datetime) -> Principal | None:
    live = auth_repo.live_session(session, token_hash(token), now)
    if live is None:
        return None
    account = auth_repo.user(session, live.username)
    if account is None or account.disabled:
        return None
    return Principal(
        kind="user",
        id=account.username,
        name=account.username,
        role=account.role,
        scopes=smart.parse_scopes(smart.USER_ROLE_SCOPES[account.role]),
        csrf_token=live.csrf_token,
    )


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()
