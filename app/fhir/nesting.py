"""How deep a request may nest. Validation and reference walking recurse once per level, so a
body nested a few hundred levels (a chain of extensions) would exhaust Python's stack and
answer 500. Real FHIR resources nest about a dozen levels; the limit leaves ample room."""

from __future__ import annotations

from typing import Any

MAX_JSON_DEPTH = 64  # objects and arrays, counted from the resource itself


def too_deep_at(root: Any, where: str, limit: int = MAX_JSON_DEPTH) -> str | None:
    """The FHIRPath of the first object or array nested past `limit`, else None. Iterative,
    so it cannot itself run out of stack."""
    stack: list[tuple[Any, str, int]] = [(root, where, 1)]
    while stack:
        node, path, depth = stack.pop()
        if depth > limit:
            return path
        if isinstance(node, dict):
            stack.extend(
                (v, f"{path}.{k}", depth + 1) for k, v in node.items() if isinstance(v, dict | list)
            )
        elif isinstance(node, list):
            stack.extend(
                (v, f"{path}[{i}]", depth + 1)
                for i, v in enumerate(node)
                if isinstance(v, dict | list)
            )
    return None
