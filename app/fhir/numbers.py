"""Whole numbers from request text: ASCII digits only, and small enough for any database.

`str.isdigit()` is true for "²" and "٣", which `int()` then refuses or reads; and a number
past 64 bits overflows SQLite's INTEGER. Both used to surface as 500s."""

from __future__ import annotations

MAX_DIGITS = 9  # below 2**31: a page offset, a count or a version number never needs more


def whole_number(text: str, max_digits: int = MAX_DIGITS) -> int | None:
    """The value of `text` if it is 1..max_digits ASCII digits, else None."""
    if not text or len(text) > max_digits or not text.isascii() or not text.isdigit():
        return None
    return int(text)
