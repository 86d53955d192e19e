"""Versions a source sends out of order: one older than the stored version (by the source's
own meta.lastUpdated) is kept in history but never becomes current, so a delayed "booked" copy
cannot overwrite what happened since."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from app.fhir.dates import parse_instant
from app.fhir.errors import Issue

SOURCE_LAST_UPDATED = "source-last-updated"  # under the service's canonical StructureDefinition


def source_url(canonical: str) -> str:
    return f"{canonical}/StructureDefinition/{SOURCE_LAST_UPDATED}"


def source_time(data: dict[str, Any], canonical: str) -> datetime | None:
    """When the source says it last changed this resource: the incoming meta.lastUpdated, or
    on a stored resource the extension that keeps it (the service stamps its own)."""
    meta = data.get("meta") or {}
    for ext in meta.get("extension", []):
        if isinstance(ext, dict) and ext.get("url") == source_url(canonical):
            value = ext.get("valueInstant")
            return parse_instant(value) if isinstance(value, str) else None
    return None


def incoming_time(data: dict[str, Any]) -> datetime | None:
    value = (data.get("meta") or {}).get("lastUpdated")
    return parse_instant(value) if isinstance(value, str) else None


def is_stale(stored: dict[str, Any], incoming: dict[str, Any], canonical: str) -> bool:
    """True when both carry the source's time and the incoming one is older."""
    before, now = source_time(stored, canonical), incoming_time(incoming)
    return before is not None and now is not None and now < before


def keep_source_time(meta: dict[str, Any], incoming: dict[str, Any], canonical: str) -> None:
    """Record the source's meta.lastUpdated in `meta` (which the service re-stamps)."""
    moment = (incoming.get("meta") or {}).get("lastUpdated")
    others = [e for e in meta.get("extension", []) if e.get("url") != source_url(canonical)]
    if isinstance(moment, str):
        others.append({"url": source_url(canonical), "valueInstant": moment})
    if others:
        meta["extension"] = others
    else:
        meta.pop("extension", None)


def stale_warning(type_name: str, version: int, current: int) -> Issue:
    return Issue(
        "business-rule",
        f"This version is older than the stored one (meta.lastUpdated): kept in history as "
        f"version {version}; version {current} repeats the newer content and stays current.",
        f"{type_name}.meta.lastUpdated",
        severity="warning",
    )
