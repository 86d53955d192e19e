"""Answers "was this missed appointment followed up within N days?" for time-based rules."""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable
from datetime import datetime

from app.rules.model import EventView
from app.rules.plan import Plan


class FollowUpIndex:
    """The follow-up events (e.g. booked, attended) of some children, by child and service."""

    def __init__(self, plan: Plan, events: Iterable[EventView]) -> None:
        """Index the events of `events` that would count as a follow-up under `plan`."""
        self._plan = plan
        self._same_service = plan.rule.no_follow_up is None or plan.rule.no_follow_up.same_service
        found: dict[tuple[str, str | None], list[tuple[datetime, str]]] = {}
        for event in events:
            if event.category in plan.follow_up_categories:
                found.setdefault(self._key(event), []).append((event.at, event.event_id))
        self._times: dict[tuple[str, str | None], list[datetime]] = {}
        self._ids: dict[tuple[str, str | None], list[str]] = {}
        for key, rows in found.items():
            rows.sort()
            self._times[key] = [at for at, _ in rows]
            self._ids[key] = [event_id for _, event_id in rows]

    def _key(self, event: EventView) -> tuple[str, str | None]:
        # An unknown service only matches an unknown service: a GP visit must not be taken as
        # the follow-up of a hospital clinic nobody rebooked.
        return event.child_id, event.service_code if self._same_service else None

    def followed_up(self, missed: EventView) -> bool:
        """True if a follow-up of the same child (and service) is strictly after `missed` and
        at most the rule's `within_days` later. The missed event's own id never counts, so a
        booked-then-noshow appointment does not follow itself up."""
        assert self._plan.follow_up is not None
        key = self._key(missed)
        times = self._times.get(key)
        if not times:
            return False
        ids = self._ids[key]
        limit = missed.at + self._plan.follow_up
        for index in range(bisect_right(times, missed.at), len(times)):
            if times[index] > limit:
                return False
            if ids[index] != missed.event_id:
                return True
        return False
