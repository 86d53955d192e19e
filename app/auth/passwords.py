"""Password and client-secret hashing with argon2."""

from __future__ import annotations

from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_hasher = PasswordHasher()


@cache
def _dummy() -> str:
    # Verifying against this costs what a real check costs, so an unknown name takes as long
    # as a wrong password and the timing says nothing about which names exist.
    return _hasher.hash("not-a-real-password")


def hash_secret(secret: str) -> str:
    return _hasher.hash(secret)


def verify_secret(stored: str | None, offered: str) -> bool:
    try:
        _hasher.verify(stored or _dummy(), offered)  # raises unless it matches
    except (VerificationError, InvalidHashError):
        return False
    return stored is not None
