"""A validated Rule compiled into the sets and durations the hot path needs.

Kept apart from the pydantic schema so evaluation touches only plain attributes and frozensets:
a backtest calls `matches` once per event per rule.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from app.rules.model import EventView, StatusView
from app.rules.schema import Rule

NO_STATUSES: tuple[StatusView, ...] = ()


def completed_years(age_days: int) -> int:
    """Whole years of age from days (365.25-day years: at most a day out around a birthday)."""
    return age_days * 4 // 1461


@dataclass(frozen=True, slots=True)
class Plan:
    """What `Rule` says, in the shape the engine evaluates."""

    rule: Rule
    categories: frozenset[str]
    statuses: frozenset[str]
    span: timedelta | None  # None: the rule looks at the trigger alone
    follow_up: timedelta | None  # None: not time-based
    follow_up_categories: frozenset[str]
    needs_service: bool
    counts_services: bool  # whether the summary shows {services}, worth counting

    @classmethod
    def of(cls, rule: Rule) -> Plan:
        """Compile one validated rule."""
        follow = rule.no_follow_up
        return cls(
            rule=rule,
            categories=frozenset(rule.categories),
            statuses=frozenset(rule.statuses),
            span=None if rule.window_days is None else timedelta(days=rule.window_days),
            follow_up=None if follow is None else timedelta(days=follow.within_days),
            follow_up_categories=frozenset(follow.categories) if follow else frozenset(),
            # A distinct-services count cannot place an event with no service, so it ignores it.
            needs_service=rule.count == "services",
            counts_services=rule.summary is not None and "{services}" in rule.summary,
        )

    @property
    def reach_days(self) -> int:
        """How far from the trigger this rule may look, in days (window plus follow-up)."""
        follow = self.rule.no_follow_up
        return (self.rule.window_days or 0) + (follow.within_days if follow else 0)

    def due(self, event: EventView) -> datetime | None:
        """When a time-based rule can be decided for `event`; None for an ingest-time rule."""
        return None if self.follow_up is None else event.at + self.follow_up

    def matches(self, event: EventView, statuses: Sequence[StatusView] = NO_STATUSES) -> bool:
        """Does `event` count for this rule? `statuses` are the event's child's statuses.

        Unknown age never satisfies an age band: the rule cannot show the child is in it.
        """
        if event.category not in self.categories:
            return False
        if self.needs_service and event.service_code is None:
            return False
        age = self.rule.age
        if age is not None:
            days = event.age_days
            if days is None:
                return False
            if (age.min_days is not None and days < age.min_days) or (
                age.max_days is not None and days > age.max_days
            ):
                return False
            if age.min_years is not None or age.max_years is not None:
                years = completed_years(days)
                if (age.min_years is not None and years < age.min_years) or (
                    age.max_years is not None and years > age.max_years
                ):
                    return False
        if self.statuses:
            return any(s.status in self.statuses and s.active_at(event.at) for s in statuses)
        return True
