"""Who a credential request claims to be and where it comes from, for throttling only: read
before anything is verified, so never trusted for anything else."""

from __future__ import annotations

import base64
import binascii
from urllib.parse import unquote

from fastapi import Request

from app.auth.tokens import TokenError, read_assertion_issuer


def claimed_client(form: dict[str, str], authorization: str | None) -> str:
    """The client id a token request names: HTTP Basic, client_id, or the assertion's iss."""
    if authorization and authorization[:6].lower() == "basic ":
        try:
            decoded = base64.b64decode(authorization[6:].strip(), validate=True).decode()
            return unquote(decoded.partition(":")[0])
        except (binascii.Error, UnicodeDecodeError):
            return "(unreadable)"
    if form.get("client_assertion"):
        try:
            return read_assertion_issuer(form["client_assertion"])
        except TokenError:
            return "(unreadable)"
    return form.get("client_id") or "(none)"


def client_address(request: Request) -> str:
    # The peer address; behind a proxy run uvicorn with --proxy-headers so this is the client.
    return request.client.host if request.client else "(unknown)"
