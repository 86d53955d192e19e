"""CSRF protection of the sign-in form, before any session exists. The cookie holds a random
nonce and the form a signature of it under the server's secret: someone able to plant a
cookie (a neighbouring subdomain) cannot make a form token that matches, as they could when
the two were merely equal."""

from __future__ import annotations

import hashlib
import hmac
import secrets


def new_pair(secret: str) -> tuple[str, str]:
    """(cookie nonce, form token)."""
    nonce = secrets.token_urlsafe(32)
    return nonce, _sign(secret, nonce)


def valid(secret: str, nonce: str | None, token: str) -> bool:
    return bool(nonce) and hmac.compare_digest(_sign(secret, nonce or ""), token)


def _sign(secret: str, nonce: str) -> str:
    return hmac.new(secret.encode(), f"login-csrf:{nonce}".encode(), hashlib.sha256).hexdigest()
