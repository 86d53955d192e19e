"""Queries over clients, client assertions, user accounts and sessions."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from app.store.models import ApiClient, UsedAssertion, UserAccount, UserSession


def client(session: Session, client_id: str) -> ApiClient | None:
    return session.get(ApiClient, client_id)


def all_clients(session: Session) -> Sequence[ApiClient]:
    return session.scalars(select(ApiClient).order_by(ApiClient.created_at)).all()


def add(session: Session, row: ApiClient | UserAccount | UserSession) -> None:
    session.add(row)
    session.flush()


def remember_assertion(session: Session, client_id: str, jti: str, expires_at: datetime) -> None:
    """Record a used jti; the primary key makes a replay fail on flush (IntegrityError)."""
    session.add(UsedAssertion(client_id=client_id, jti=jti, expires_at=expires_at))
    session.flush()


def assertion_seen(session: Session, client_id: str, jti: str) -> bool:
    return session.get(UsedAssertion, (client_id, jti)) is not None


def forget_expired_assertions(session: Session, now: datetime) -> int:
    result = session.execute(delete(UsedAssertion).where(UsedAssertion.expires_at < now))
    return result.rowcount or 0  # type: ignore[attr-defined]


def user(session: Session, username: str) -> UserAccount | None:
    return session.get(UserAccount, username)


def set_login_state(
    session: Session, username: str, failed_attempts: int, locked_until: datetime | None
) -> None:
    session.execute(
        update(UserAccount)
        .where(UserAccount.username == username)
        .values(failed_attempts=failed_attempts, locked_until=locked_until)
    )


def live_session(session: Session, token_hash: str, now: datetime) -> UserSession | None:
    found = session.get(UserSession, token_hash)
    return found if found is not None and found.expires_at > now else None


def end_session(session: Session, token_hash: str) -> None:
    session.execute(delete(UserSession).where(UserSession.token_hash == token_hash))


def end_expired_sessions(session: Session, now: datetime) -> int:
    result = session.execute(delete(UserSession).where(UserSession.expires_at < now))
    return result.rowcount or 0  # type: ignore[attr-defined]
