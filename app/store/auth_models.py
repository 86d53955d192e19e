"""Who may call the service: machine clients (and the assertions they have used), nurses'
accounts, their failed sign-ins and their sessions."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.store.base import Base, UtcDateTime


class ApiClient(Base):
    """A machine client (GP system, agency, integration) allowed to ask for tokens."""

    __tablename__ = "api_client"
    client_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str | None] = mapped_column(String(32))
    scopes: Mapped[str] = mapped_column(Text)
    secret_hash: Mapped[str | None] = mapped_column(String(255))
    jwks: Mapped[str | None] = mapped_column(Text)
    revoked_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    # A source sending HL7 v2 over MLLP: the MSH-4 sending facility its messages carry.
    hl7_facility: Mapped[str | None] = mapped_column(String(200), unique=True)


class UsedAssertion(Base):
    """jti of every accepted client assertion until it expires, so none is accepted twice."""

    __tablename__ = "used_assertion"
    client_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    jti: Mapped[str] = mapped_column(String(255), primary_key=True)
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime(), index=True)


class UserAccount(Base):
    """A person (safeguarding nurse, admin) who signs in to the browser pages."""

    __tablename__ = "user_account"
    username: Mapped[str] = mapped_column(String(100), primary_key=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(32))
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    display_name: Mapped[str | None] = mapped_column(String(200))  # "Jo Smith", shown on pages


class LoginFailure(Base):
    """Failed sign-ins for one username from one address. Lock-out is kept per pair, so that
    failures from an attacker's address never keep the nurse at her own desk out."""

    __tablename__ = "login_failure"
    username: Mapped[str] = mapped_column(String(100), primary_key=True)
    address: Mapped[str] = mapped_column(String(64), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer)
    blocked_until: Mapped[datetime | None] = mapped_column(UtcDateTime())
    last_failed_at: Mapped[datetime] = mapped_column(UtcDateTime(), index=True)


class UserSession(Base):
    """A signed-in browser: the cookie holds a random token, the table its SHA-256."""

    __tablename__ = "user_session"
    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    username: Mapped[str] = mapped_column(
        ForeignKey("user_account.username", ondelete="CASCADE"), index=True
    )
    csrf_token: Mapped[str] = mapped_column(String(64))
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime())
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
