"""The flag one rule calls for on one child: every firing of the rule for the child, merged."""

from __future__ import annotations

from dataclasses import dataclass, field

Pair = tuple[str, str]  # (rule id, child id)


@dataclass
class DesiredFlag:
    """Every firing of one rule for one child, merged: the flag that child should carry."""

    rule_id: str
    rule_version: int
    child_id: str
    priority: str
    description: str
    agencies: set[str] = field(default_factory=set)
    events: set[str] = field(default_factory=set)
    children: set[str] = field(default_factory=set)
    age_uncertain: bool = False  # a partial birth date decided on the side of the child
