"""New ids that sort by the time they were made (UUID version 7, RFC 9562).

A random id (version 4) lands on a random page of every index that holds it: the resource's
own (type, id), the coded events' and audit entities' references, the Flag, family and audit
ids. Once the store outgrows memory, each such insert reads a page from disk. An id that
begins with the time lands beside the ids made just before it, on pages that are already in
memory, so the indexes grow at their right edge as the serial keys do.

What it gives away: the millisecond it was made, which the resource's `meta.lastUpdated`, the
Flag's period and the audit record's time already say to whoever may read it. 74 random bits
keep ids made in the same millisecond apart (and unguessable, though no id is a secret:
every read is authorised).
"""

from __future__ import annotations

import os
import time
import uuid

_VERSION = 0x7 << 76
_VARIANT = 0b10 << 62


def time_ordered_uuid() -> uuid.UUID:
    """48 bits of Unix milliseconds, the version, 12 + 62 random bits and the variant."""
    millis = time.time_ns() // 1_000_000
    rand = int.from_bytes(os.urandom(10), "big")  # 80 bits: 12 for rand_a, 62 for rand_b
    rand_a = (rand >> 68) & 0xFFF
    rand_b = rand & ((1 << 62) - 1)
    stamp = (millis & ((1 << 48) - 1)) << 80
    return uuid.UUID(int=stamp | _VERSION | rand_a << 64 | _VARIANT | rand_b)
