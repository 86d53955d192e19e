"""Sorting a chronology's items into what the child and family pages show: outcomes, status
periods, flags with their evidence and reviews, and the timeline drawn from them."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from app.fhir.concern_state import CLOSED_STATES

NO_SERVICE = "Service not recorded"
CLOSED = frozenset(CLOSED_STATES)


def service_of(item: dict[str, Any]) -> str:
    service = item.get("service") or {}
    return service.get("display") or service.get("code") or NO_SERVICE


def of_kind(items: Sequence[dict[str, Any]], *kinds: str) -> list[dict[str, Any]]:
    return [i for i in items if i["kind"] in kinds]


def services(events: Sequence[dict[str, Any]]) -> list[str]:
    """Services in the order the child first met them: the timeline's rows read top-down
    as the story unfolds."""
    seen: dict[str, None] = {}
    for e in events:
        seen.setdefault(service_of(e), None)
    return list(seen)


def flags(items: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each flag once, newest first, with its evidence (the outcomes on this chronology it
    names) and its reviews, oldest first."""
    by_resource = {e["resource"]: e for e in of_kind(items, "event")}
    found: dict[str, dict[str, Any]] = {}
    for i in of_kind(items, "flag-opened", "flag-updated", "flag-closed"):
        flag = found.setdefault(i["flag_id"], {**i, "opened_at": i["at"], "reviews": []})
        # The card shows the flag as it stands: its latest item's reasons, not its first's.
        flag.update(
            state=i["state"],
            outcome=i["outcome"],
            evidence=i["evidence"],
            priority=i["priority"],
            reasons=i["reason_details"],
        )
        if i["kind"] == "flag-closed":
            flag["closed_at"] = i["at"]
    for r in of_kind(items, "review"):
        if r["flag_id"] in found:
            found[r["flag_id"]]["reviews"].append(r)
    for flag in found.values():
        flag["evidence_items"] = [
            by_resource[ref] for ref in flag["evidence"] if ref in by_resource
        ]
    return sorted(found.values(), key=lambda f: f["opened_at"], reverse=True)


def open_first(
    flag_list: list[dict[str, Any]],
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    current = [f for f in flag_list if not f.get("closed_at") and f["state"] not in CLOSED]
    past = [f for f in flag_list if f not in current]
    return current, past
