"""A validated Rule compiled into the sets and durations the hot path needs.

Kept apart from the pydantic schema so evaluation touches only plain attributes and frozensets:
a backtest calls `matches` once per event per rule.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from app.rules.age import age_matches
from app.rules.calendar import end_of_day_after
from app.rules.model import EventView, StatusView
from app.rules.schema import Rule

NO_STATUSES: tuple[StatusView, ...] = ()


@dataclass(frozen=True, slots=True)
class Plan:
    """What `Rule` says, in the shape the engine evaluates."""

    rule: Rule
    categories: frozenset[str]
    statuses: frozenset[str]
    span: int | None  # window in Europe/London calendar days; None: the trigger alone
    follow_up: int | None  # follow-up window in calendar days; None: not time-based
    follow_up_categories: frozenset[str]
    needs_service: bool
    counts_services: bool  # whether the summary shows {services}, worth counting
    by_category: bool  # `matches` is the category test alone (no service, age or status test)

    @classmethod
    def of(cls, rule: Rule) -> Plan:
        """Compile one validated rule."""
        follow = rule.no_follow_up
        return cls(
            rule=rule,
            categories=frozenset(rule.categories),
            statuses=frozenset(rule.statuses),
            span=rule.window_days,
            follow_up=None if follow is None else follow.within_days,
            follow_up_categories=frozenset(follow.categories) if follow else frozenset(),
            # A distinct-services count cannot place an event with no service, so it ignores it.
            needs_service=rule.count == "services",
            counts_services=rule.summary is not None and "{services}" in rule.summary,
            by_category=rule.count != "services" and rule.age is None and not rule.statuses,
        )

    @property
    def reach_days(self) -> int:
        """How far from the trigger this rule may look, in days (window plus follow-up)."""
        follow = self.rule.no_follow_up
        return (self.rule.window_days or 0) + (follow.within_days if follow else 0)

    def due(self, event: EventView) -> datetime | None:
        """When a time-based rule can be decided for `event` (the end of the local calendar
        day `within_days` after it); None for an ingest-time rule."""
        return None if self.follow_up is None else end_of_day_after(event.at, self.follow_up)

    def matches(self, event: EventView, statuses: Sequence[StatusView] = NO_STATUSES) -> bool:
        """Does `event` count for this rule? `statuses` are the event's child's statuses.

        Unknown age never satisfies an age band: the rule cannot show the child is in it.
        """
        if event.category not in self.categories:
            return False
        if self.needs_service and event.service_key is None:
            return False
        if self.rule.age is not None and not age_matches(self.rule.age, event):
            return False
        if self.statuses:
            return any(s.status in self.statuses and s.active_at(event.at) for s in statuses)
        return True
