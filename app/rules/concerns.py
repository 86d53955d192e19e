"""One concern per child: the per-rule flags a family's facts call for, folded per child.

A nurse works on a child, not on a rule firing: every rule that holds for the child now is a
*reason* of the child's one concern. The fold is pure, so whatever holds for `desired_flags`
(order independence, backtest equals live) holds for concerns.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from app.fhir.priority import highest, priority_rank
from app.rules.desired import DesiredFlag, Pair


@dataclass
class DesiredConcern:
    """The concern a child should carry: its reasons keyed by rule id."""

    child_id: str
    reasons: dict[str, DesiredFlag] = field(default_factory=dict)

    @property
    def priority(self) -> str:
        return highest(r.priority for r in self.reasons.values())

    @property
    def events(self) -> set[str]:
        return {e for r in self.reasons.values() for e in r.events}

    @property
    def agencies(self) -> set[str]:
        return {a for r in self.reasons.values() for a in r.agencies}

    @property
    def children(self) -> set[str]:
        return {c for r in self.reasons.values() for c in r.children} | {self.child_id}

    @property
    def age_uncertain(self) -> bool:
        return any(r.age_uncertain for r in self.reasons.values())

    def ordered(self) -> list[DesiredFlag]:
        """Reasons highest priority first, then by rule id (a stable order for every page)."""
        return sorted(self.reasons.values(), key=lambda r: (priority_rank(r.priority), r.rule_id))


def desired_concerns(flags: Mapping[Pair, DesiredFlag]) -> dict[str, DesiredConcern]:
    """The per-rule flags folded into one concern per child."""
    out: dict[str, DesiredConcern] = {}
    for (rule_id, child), flag in flags.items():
        out.setdefault(child, DesiredConcern(child)).reasons[rule_id] = flag
    return out
