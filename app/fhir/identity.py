"""Which identifiers make two posts the same resource (its identity keys)."""

from __future__ import annotations

from typing import Any


def identity_keys(data: dict[str, Any]) -> list[tuple[str, str, str, str]]:
    """Identifiers that make a post the same resource. A carer's identifier is scoped to the
    child, because a RelatedPerson is one relationship, not one person."""
    type_name = data["resourceType"]
    scope = ""
    if type_name == "RelatedPerson":
        scope = ((data.get("patient") or {}).get("reference") or "")[:80]
    return [
        (type_name, ident["system"][:255], str(ident["value"])[:255], scope)
        for ident in data.get("identifier", [])
        if isinstance(ident, dict) and ident.get("system") and ident.get("value")
    ]
