"""The audit chain's keys. A plain SHA-256 chain can be rebuilt by anyone who can write the
database (delete a row, re-hash forward); an HMAC chain only by someone who also holds the
key, so the key lives outside the database: an environment variable or a file."""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from pathlib import Path

from app.settings import Settings

MIN_KEY_CHARS = 32
# Stored beside each keyed seal, so that `verify` knows which key to check it with. Derived
# from the key by its own HMAC, so the id says nothing usable about the key.
_ID_LABEL = b"wnb audit chain key id"


def key_id(key: bytes) -> str:
    return hmac.new(key, _ID_LABEL, hashlib.sha256).hexdigest()[:16]


@dataclass(frozen=True)
class AuditKeys:
    """The keys this process holds: the first seals new rows, every one verifies."""

    keys: tuple[bytes, ...] = ()

    @property
    def current(self) -> tuple[str, bytes] | None:
        return (key_id(self.keys[0]), self.keys[0]) if self.keys else None

    def by_id(self, kid: str) -> bytes | None:
        return next((k for k in self.keys if key_id(k) == kid), None)


def load_audit_keys(settings: Settings) -> AuditKeys:
    """The configured keys (none in development without a setting: the chain stays plain
    SHA-256, as it was before keys existed). A key file that is missing, unreadable or holds
    a short key stops start-up with a message naming it."""
    if settings.audit_key is not None:
        return AuditKeys((settings.audit_key.encode(),))
    path: Path | None = settings.audit_key_file
    if path is None:
        return AuditKeys()
    try:
        lines = path.read_text().splitlines()
    except OSError as exc:
        raise ValueError(f"WNB_AUDIT_KEY_FILE {path}: {exc.strerror or exc}") from None
    keys = [line.strip() for line in lines if line.strip()]
    if not keys or any(len(k) < MIN_KEY_CHARS for k in keys):
        raise ValueError(
            f"WNB_AUDIT_KEY_FILE {path} must hold one key of 32+ characters a line"
        )
    return AuditKeys(tuple(k.encode() for k in keys))
