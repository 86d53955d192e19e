"""Looking after people's accounts: list, disable, enable, reset a password, rename. Disabling or
resetting ends every session the person holds, so a leaver's open browser stops working at
once rather than when its session would have expired."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from app.auth.passwords import hash_secret
from app.services.access.users import MIN_PASSWORD, checked_name, shown_name
from app.store import auth_repo


@dataclass(frozen=True)
class Account:
    username: str
    role: str
    disabled: bool
    created_at: datetime
    sessions: int  # live sessions now
    name: str  # the display name, or the username when none was given


def list_users(session: Session, now: datetime) -> list[Account]:
    live = auth_repo.live_session_counts(session, now)
    return [
        Account(
            u.username, u.role, u.disabled, u.created_at, live.get(u.username, 0), shown_name(u)
        )
        for u in auth_repo.all_users(session)
    ]


def set_disabled(session: Session, username: str, disabled: bool) -> int:
    """Disable (ending every session; how many) or enable an account."""
    _existing(session, username)
    auth_repo.set_disabled(session, username, disabled)
    return auth_repo.end_sessions_of(session, username) if disabled else 0


def reset_password(session: Session, username: str, password: str) -> int:
    """A new password; every session ends (how many)."""
    if len(password) < MIN_PASSWORD:
        raise ValueError(f"the password needs at least {MIN_PASSWORD} characters")
    _existing(session, username)
    auth_repo.set_password_hash(session, username, hash_secret(password))
    return auth_repo.end_sessions_of(session, username)


def rename(session: Session, username: str, display_name: str | None) -> None:
    """The name pages show for the person (blank: the username again)."""
    account = auth_repo.user(session, username)
    if account is None:
        raise ValueError(f"no user {username!r}")
    account.display_name = checked_name(display_name)


def _existing(session: Session, username: str) -> None:
    if auth_repo.user(session, username) is None:
        raise ValueError(f"no user {username!r}")
