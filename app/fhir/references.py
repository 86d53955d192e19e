"""Finding and rewriting the references inside a resource."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

Reference = dict[str, Any]


def iter_references(node: Any, where: str) -> Iterator[tuple[Reference, str]]:
    """Every Reference-shaped object (one with `reference` or a bare `identifier`) below node."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key in ("reference", "contained"):
                continue
            path = f"{where}.{key}"
            if isinstance(value, dict) and _is_reference(value):
                yield value, path
            if isinstance(value, list):
                for i, item in enumerate(value):
                    if isinstance(item, dict) and _is_reference(item):
                        yield item, f"{path}[{i}]"
                    yield from iter_references(item, f"{path}[{i}]")
            elif isinstance(value, dict):
                yield from iter_references(value, path)


def _is_reference(value: dict[str, Any]) -> bool:
    return isinstance(value.get("reference"), str) or (
        "identifier" in value
        and isinstance(value["identifier"], dict)
        and set(value) <= {"identifier", "type", "display", "extension", "id"}
    )


def split_local(reference: str) -> tuple[str, str] | None:
    """('Patient', '123') for a relative literal reference, else None."""
    parts = reference.split("/")
    if len(parts) == 2 and parts[0][:1].isupper() and parts[1]:
        return parts[0], parts[1]
    if len(parts) == 4 and parts[2] == "_history" and parts[0][:1].isupper():
        return parts[0], parts[1]
    return None
