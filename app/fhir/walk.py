"""Walking a FHIR JSON dict along a dotted path, yielding each value with its FHIRPath."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any


def walk(data: Any, path: str, where: str) -> Iterator[tuple[Any, str]]:
    """Yield (value, FHIRPath) for a dotted path whose `[]` steps fan out over lists."""
    if not path:
        yield data, where
        return
    head, _, rest = path.partition(".")
    many = head.endswith("[]")
    key = head[:-2] if many else head
    if not isinstance(data, dict) or key not in data:
        return
    value = data[key]
    if many and isinstance(value, list):
        for i, item in enumerate(value):
            yield from walk(item, rest, f"{where}.{key}[{i}]")
    else:
        yield from walk(value, rest, f"{where}.{key}")
