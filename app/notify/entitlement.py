"""Which flags concern an agency, and which events pass a subscription's filter."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from app.notify.events import FlagEvent

FILTER_NAMES = ("rule", "priority", "area")


def concerns(agency_type: str, agency_areas: Iterable[str], event: FlagEvent) -> bool:
    """A concern concerns an agency when one of its reasons names the agency's type and the
    concern is in one of the areas the agency serves. Both, never either."""
    return agency_type in event.agencies and not set(agency_areas).isdisjoint(event.areas)


@dataclass(frozen=True)
class Filters:
    """A subscription's filter criteria: each given name narrows (values are ORed)."""

    rule: frozenset[str] = field(default_factory=frozenset)
    priority: frozenset[str] = field(default_factory=frozenset)
    area: frozenset[str] = field(default_factory=frozenset)

    def matches(self, event: FlagEvent, agency_type: str) -> bool:
        """True when the event passes every filter given: `rule` and `priority` apply to the
        reasons that concern the agency (one reason must pass both), `area` to the concern."""
        if self.area and self.area.isdisjoint(event.areas):
            return False
        if not self.rule and not self.priority:
            return True
        return any(
            agency_type in r.agencies
            and (not self.rule or r.rule_id in self.rule)
            and (not self.priority or r.priority in self.priority)
            for r in event.reasons
        )

    def as_json(self) -> dict[str, list[str]]:
        """The filters given, as stored on the subscription."""
        return {n: sorted(getattr(self, n)) for n in FILTER_NAMES if getattr(self, n)}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Filters:
        """Filters from what `as_json` stored."""
        return cls(**{n: frozenset(data.get(n, ())) for n in FILTER_NAMES})
