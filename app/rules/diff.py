"""Compare two sets of firings by (rule, child): what a rule change would add or remove."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from app.rules.model import Firing, TimedFiring

Pair = tuple[str, str]  # (rule id, child id)
FiringLike = Firing | TimedFiring | Pair


@dataclass(frozen=True, slots=True)
class FiringDiff:
    """(rule id, child id) pairs, each sorted: only in the new set, only in the current, both."""

    added: tuple[Pair, ...]
    removed: tuple[Pair, ...]
    kept: tuple[Pair, ...]


def pairs(firings: Iterable[FiringLike]) -> set[Pair]:
    """Every (rule id, child id) a collection of firings flags; a pair passes through as is."""
    found: set[Pair] = set()
    for item in firings:
        if isinstance(item, tuple):
            found.add(item)
            continue
        firing = item.firing if isinstance(item, TimedFiring) else item
        found.update((firing.rule_id, child) for child in firing.child_ids)
    return found


def diff(new_firings: Iterable[FiringLike], current_firings: Iterable[FiringLike]) -> FiringDiff:
    """Which (rule, child) pairs `new_firings` adds to, or drops from, `current_firings`.

    Either side may be firings, backtest results, or plain pairs (e.g. today's open flags).
    """
    new, current = pairs(new_firings), pairs(current_firings)
    return FiringDiff(
        added=tuple(sorted(new - current)),
        removed=tuple(sorted(current - new)),
        kept=tuple(sorted(new & current)),
    )
