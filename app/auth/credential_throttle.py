"""Guarding the two places an anonymous caller can make us hash a password or secret
(`/auth/token`, `/login`). Argon2 is deliberately slow: unthrottled, a few dozen wrong
guesses a second took every core and starved the rest of the service.

Two limits are checked before any hash is computed: per claimed identity (client id or
username) and per address. Hashes then run on a small pool of their own, never on the event
loop and never on the shared thread pool that serves every other request."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from app.auth.rate_limit import RateLimiter

T = TypeVar("T")


class CredentialThrottle:
    def __init__(
        self,
        identity_per_minute: float,
        identity_burst: int,
        address_per_minute: float,
        address_burst: int,
        hashing_threads: int,
    ) -> None:
        self._identity = RateLimiter(identity_per_minute / 60, identity_burst)
        self._address = RateLimiter(address_per_minute / 60, address_burst)
        self._pool = ThreadPoolExecutor(max_workers=hashing_threads, thread_name_prefix="hash")

    def wait(self, identity: str, address: str) -> float:
        """0 if this attempt may go ahead (and it is counted), else seconds to wait."""
        by_address = self._address.check(f"address:{address}")
        if by_address > 0:
            return by_address
        return self._identity.check(f"identity:{identity[:200]}")

    async def run(self, work: Callable[[], T]) -> T:
        """`work` (which hashes) on the hashing pool; the event loop stays free meanwhile."""
        return await asyncio.wrap_future(self._pool.submit(work))
