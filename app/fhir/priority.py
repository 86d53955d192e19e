"""The order of the priorities a rule, a reason and a concern carry: high before medium
before low. Here, in the lowest layer, so that rules, FHIR, services and pages rank alike."""

from __future__ import annotations

from collections.abc import Iterable

PRIORITY_RANK = {"high": 0, "medium": 1, "low": 2}  # lower ranks first


def priority_rank(priority: str) -> int:
    """An unknown priority ranks after every known one."""
    return PRIORITY_RANK.get(priority, len(PRIORITY_RANK))


def highest(priorities: Iterable[str]) -> str:
    """The highest of `priorities`; "low" when there are none."""
    return min(priorities, key=priority_rank, default="low")
