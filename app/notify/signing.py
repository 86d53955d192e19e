"""Standard Webhooks signatures, made with the stock `standardwebhooks` library so that any
receiver using it (or any other implementation of the spec) verifies them."""

from __future__ import annotations

import base64
import binascii
import secrets
from collections.abc import Sequence
from datetime import datetime

from standardwebhooks import Webhook

SECRET_PREFIX = "whsec_"
MIN_SECRET_BYTES = 24
MAX_SECRET_BYTES = 64


def new_secret() -> str:
    """A fresh signing secret: `whsec_` and 32 random bytes in base64."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


def secret_problem(secret: str) -> str | None:
    """Why a client-chosen secret cannot be used, or None when it can."""
    if not secret.startswith(SECRET_PREFIX):
        return f"the secret must start with {SECRET_PREFIX} followed by base64"
    try:
        raw = base64.b64decode(secret[len(SECRET_PREFIX) :], validate=True)
    except (binascii.Error, ValueError):
        return f"the secret after {SECRET_PREFIX} is not base64"
    if not MIN_SECRET_BYTES <= len(raw) <= MAX_SECRET_BYTES:
        return f"the secret must hold {MIN_SECRET_BYTES} to {MAX_SECRET_BYTES} random bytes"
    return None


def signed_headers(
    msg_id: str, body: str, at: datetime, signing_secrets: Sequence[str]
) -> dict[str, str]:
    """The three Standard Webhooks headers. Several secrets (a rotation's overlap) give
    several space-separated signatures; a receiver accepts the message if any one verifies."""
    signatures = [Webhook(s).sign(msg_id, at, body) for s in signing_secrets]
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(int(at.timestamp())),
        "webhook-signature": " ".join(signatures),
    }
