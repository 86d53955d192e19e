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
from app.services.access import audit
from app.store import auth_repo
from app.store.auth_models import UserAccount, UserSession

MIN_PASSWORD = 12


# One answer for a wrong password, an unknown name, a disabled account and a pause after
# repeated failures: none of them tells an attacker which names exist or are locked.
REFUSED = (
    "Wrong username or password, or too many failed attempts from here: "
    "check them and try again in a few minutes."
)
FIRST_PAUSE = timedelta(minutes=1)


@dataclass(frozen=True)
class NewSession:
    token: str  # goes in the cookie; only its hash is stored
    csrf_token: str
    expires_at: datetime


def add_user(
    session: Session,
    username: str,
    password: str,
    role: str,
    now: datetime,
    display_name: str | None = None,
) -> None:
    if role not in smart.USER_ROLE_SCOPES:
        raise ValueError(f"role must be one of {', '.join(smart.USER_ROLE_SCOPES)}")
    if len(password) < MIN_PASSWORD:
        raise ValueError(f"the password needs at least {MIN_PASSWORD} characters")
    if not username or len(username) > 100:
        raise ValueError("the username must be 1 to 100 characters")
    if auth_repo.user(session, username) is not None:
        raise ValueError(f"user {username!r} already exists")
    display_name = checked_name(display_name)
    auth_repo.add(
        session,
        UserAccount(
            username=username,
            password_hash=hash_secret(password),
            role=role,
            created_at=now,
            display_name=display_name,
        ),
    )


def login(
    session: Session,
    username: str,
    password: str,
    address: str,
    now: datetime,
    attempts: int,
    lockout: timedelta,
    ttl: timedelta,
    idle: timedelta | None = None,
) -> NewSession | str:
    """A new session, or REFUSED. Failures are counted per username and address: after
    `attempts` of them that pair must pause, 1 minute and doubling with each further
    failure up to `lockout`; no password is checked while it pauses. Another address (the
    nurse's own desk) is not held back by them. A refusal is returned, not raised, so the
    caller commits the failure count with it."""
    username, address = username[:100], address[:64]
    blocked = auth_repo.login_blocked_until(session, username, address)
    if blocked is not None and blocked > now:
        return REFUSED
    account = auth_repo.user(session, username)
    ok = verify_secret(account.password_hash if account else None, password)
    if account is None or not ok or account.disabled:
        failures = auth_repo.count_login_failure(session, username, address, now)
        if failures >= attempts:
            pause = min(lockout, FIRST_PAUSE * 2 ** min(failures - attempts, 20))
            auth_repo.block_login(session, username, address, now + pause)
        return REFUSED
    auth_repo.forget_login_failures(session, username, address)
    who = Principal("user", account.username, shown_name(account), account.role)
    audit.record(session, who, audit.AuditNote("login"), now)  # with the session it opens
    token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    auth_repo.add(
        session,
        UserSession(
            token_hash=token_hash(token),
            username=username,
            csrf_token=csrf,
            expires_at=now + min(ttl, idle or ttl),
            created_at=now,
        ),
    )
    return NewSession(token, csrf, now + min(ttl, idle or ttl))


def logout(session: Session, token: str) -> None:
    auth_repo.end_session(session, token_hash(token))


# A session's end moves forward as it is used, at most this often (a write per request would
# serialise every page view on SQLite for nothing).
EXTEND_STEP = timedelta(minutes=1)


def session_extension(
    session: Session, token: str, now: datetime, idle: timedelta, ttl: timedelta
) -> datetime | None:
    """The new end of a live session just used (idle time from now, never past its absolute
    life), or None when it need not move yet."""
    live = auth_repo.live_session(session, token_hash(token), now)
    if live is None:
        return None
    wanted = min(live.created_at + ttl, now + idle)
    return wanted if wanted - live.expires_at >= EXTEND_STEP else None


def extend_session(session: Session, token: str, until: datetime) -> None:
    auth_repo.extend_session(session, token_hash(token), until)


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
        name=shown_name(account),
        role=account.role,
        scopes=smart.parse_scopes(smart.USER_ROLE_SCOPES[account.role]),
        csrf_token=live.csrf_token,
    )


def checked_name(display_name: str | None) -> str | None:
    """A person's name as pages show it ("Jo Smith"); None or blank keeps the username."""
    name = " ".join((display_name or "").split())
    if len(name) > 200:
        raise ValueError("the name must be at most 200 characters")
    return name or None


def shown_name(account: UserAccount) -> str:
    return account.display_name or account.username


def display_names(session: Session) -> dict[str, str]:
    """Everyone's name as pages show it, by username (people are few)."""
    return {u.username: shown_name(u) for u in auth_repo.all_users(session)}


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()
