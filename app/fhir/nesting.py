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


# How many times one element may repeat. A Patient with 200,000 `given` names wrote 400,000
# search index rows from one small request; real records repeat an element a handful of
# times. Identifiers also become identity keys, hence their tighter limit.
MAX_REPEATS = 200
MAX_IDENTIFIERS = 100


def too_many_at(root: Any, where: str) -> tuple[str, int] | None:
    """The FHIRPath of the first array longer than its limit, and the limit; else None. A
    Bundle's own `entry` is left to the Bundle size limit (its resources are walked)."""
    stack: list[tuple[Any, str]] = [(root, where)]
    while stack:
        node, path = stack.pop()
        if isinstance(node, dict):
            for key, value in node.items():
                child = f"{path}.{key}"
                if isinstance(value, list):
                    limit = MAX_IDENTIFIERS if key == "identifier" else MAX_REPEATS
                    bundle_entries = node is root and key == "entry" and where == "Bundle"
                    if len(value) > limit and not bundle_entries:
                        return child, limit
                    stack.append((value, child))
                elif isinstance(value, dict):
                    stack.append((value, child))
        elif isinstance(node, list):
            stack.extend((v, f"{path}[{i}]") for i, v in enumerate(node) if isinstance(v, dict))
    return None
