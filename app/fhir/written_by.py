"""Who wrote each version: a meta extension naming the client or person, so a resource's
history says which system or user changed it (`meta.source` stays the sender's own, as the
coding of outcomes reads it)."""

from __future__ import annotations

from typing import Any

SUFFIX = "/StructureDefinition/written-by"


def written_by_url(canonical: str) -> str:
    return f"{canonical}{SUFFIX}"


def stamp(meta: dict[str, Any], canonical: str, author: tuple[str, str]) -> None:
    """Put the author (kind "client" or "user", id) in `meta`, replacing any such extension
    the sender supplied: nobody may write in another's name."""
    url = written_by_url(canonical)
    kind, who = author
    kept = [
        e for e in meta.get("extension", []) if not (isinstance(e, dict) and e.get("url") == url)
    ]
    meta["extension"] = [
        *kept,
        {"url": url, "valueIdentifier": {"system": f"{canonical}/Id/{kind}", "value": who}},
    ]


def author_of(data: dict[str, Any]) -> str | None:
    """'client/<id>' or 'user/<name>' from a stored version, if it was stamped."""
    for e in (data.get("meta") or {}).get("extension", []):
        if isinstance(e, dict) and str(e.get("url", "")).endswith(SUFFIX):
            ident = e.get("valueIdentifier") or {}
            kind = str(ident.get("system", "")).rsplit("/", 1)[-1]
            return f"{kind}/{ident.get('value')}"
    return None
