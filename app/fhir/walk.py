"""Walking a FHIR JSON dict along a dotted path, yielding each value with its FHIRPath."""

from __future__ import annotations

from collections.abc import Iterator
from functools import lru_cache
from typing import Any


def walk(data: Any, path: str, where: str) -> Iterator[tuple[Any, str]]:
    """Yield (value, FHIRPath) for a dotted path whose `[]` steps fan out over lists.

    One level at a time rather than a generator per step: every write walks a dozen paths
    (value sets, identifiers, times), and the order is the same (depth first, lists in order).
    """
    found: list[tuple[Any, str]] = [(data, where)]
    for key, many in _steps(path):
        deeper: list[tuple[Any, str]] = []
        for node, at in found:
            if not isinstance(node, dict) or key not in node:
                continue
            value = node[key]
            if many and isinstance(value, list):
                deeper.extend((item, f"{at}.{key}[{i}]") for i, item in enumerate(value))
            else:
                deeper.append((value, f"{at}.{key}"))
        if not deeper:
            return iter(())
        found = deeper
    return iter(found)


def values_at(data: Any, path: str) -> list[Any]:
    """The values `walk` yields, in its order, without their FHIRPaths: most callers drop
    them, and building a string per value was about a third of the cost of an appointment's
    search values (11.8 against 8.1 us with its sort date)."""
    found: list[Any] = [data]
    for key, many in _steps(path):
        deeper: list[Any] = []
        for node in found:
            if not isinstance(node, dict) or key not in node:
                continue
            value = node[key]
            if many and isinstance(value, list):
                deeper.extend(value)
            else:
                deeper.append(value)
        if not deeper:
            return []
        found = deeper
    return found


@lru_cache(maxsize=256)
def _steps(path: str) -> tuple[tuple[str, bool], ...]:
    """`a[].b` as (("a", True), ("b", False)): the paths are a few constants, split once."""
    if not path:
        return ()
    return tuple((h[:-2], True) if h.endswith("[]") else (h, False) for h in path.split("."))
