"""Queries over clients, client assertions, user accounts and sessions."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.store.auth_models import ApiClient, LoginFailure, UsedAssertion, UserAccount, UserSession
from app.store.changed import rows_changed


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
    return rows_changed(session, delete(UsedAssertion).where(UsedAssertion.expires_at < now))


def user(session: Session, username: str) -> UserAccount | None:
    return session.get(UserAccount, username)


def live_session(session: Session, token_hash: str, now: datetime) -> UserSession | None:
    found = session.get(UserSession, token_hash)
    return found if found is not None and found.expires_at > now else None


def end_session(session: Session, token_hash: str) -> None:
    session.execute(delete(UserSession).where(UserSession.token_hash == token_hash))


def end_expired_sessions(session: Session, now: datetime) -> int:
    return rows_changed(session, delete(UserSession).where(UserSession.expires_at < now))


def login_blocked_until(session: Session, username: str, address: str) -> datetime | None:
    row = session.get(LoginFailure, (username, address))
    return row.blocked_until if row is not None else None


def count_login_failure(session: Session, username: str, address: str, now: datetime) -> int:
    """Add one failure for (username, address) and return the new count. One atomic
    statement per step: concurrent failures are all counted (no read-modify-write)."""
    key = (LoginFailure.username == username, LoginFailure.address == address)
    counted = session.execute(
        update(LoginFailure)
        .where(*key)
        .values(failures=LoginFailure.failures + 1, last_failed_at=now)
        .returning(LoginFailure.failures)
    ).scalar()
    if counted is not None:
        return counted
    try:
        with session.begin_nested():
            session.execute(
                insert(LoginFailure).values(
                    username=username, address=address, failures=1, last_failed_at=now
                )
            )
        return 1
    except IntegrityError:  # another request inserted the row first: count on it
        return count_login_failure(session, username, address, now)


def block_login(
    session: Session, username: str, address: str, until: datetime
) -> None:
    session.execute(
        update(LoginFailure)
        .where(LoginFailure.username == username, LoginFailure.address == address)
        .values(blocked_until=until)
    )


def forget_login_failures(session: Session, username: str, address: str) -> None:
    session.execute(
        delete(LoginFailure).where(
            LoginFailure.username == username, LoginFailure.address == address
        )
    )


def all_users(session: Session) -> Sequence[UserAccount]:
    return session.scalars(select(UserAccount).order_by(UserAccount.username)).all()


def live_session_counts(session: Session, now: datetime) -> dict[str, int]:
    rows = session.execute(
        select(UserSession.username, func.count())
        .where(UserSession.expires_at > now)
        .group_by(UserSession.username)
    )
    return {name: count for name, count in rows}


def set_disabled(session: Session, username: str, disabled: bool) -> None:
    session.execute(
        update(UserAccount).where(UserAccount.username == username).values(disabled=disabled)
    )


def set_password_hash(session: Session, username: str, password_hash: str) -> None:
    session.execute(
        update(UserAccount)
        .where(UserAccount.username == username)
        .values(password_hash=password_hash)
    )


def end_sessions_of(session: Session, username: str) -> int:
    return rows_changed(session, delete(UserSession).where(UserSession.username == username))


def extend_session(session: Session, token_hash: str, until: datetime) -> None:
    session.execute(
        update(UserSession).where(UserSession.token_hash == token_hash).values(expires_at=until)
    )
