"""Answers "was this missed appointment followed up within N days?" for time-based rules.

A follow-up is, for the same child (and service, when the rule says same_service: the same
key, or an event known only by its organisation and one at that organisation, as
`places.same_service` says):
- a booking made after the miss and within N Europe/London calendar days of it, whatever date
  the new appointment is for (`booked_at`; a view without it falls back to `at`). Any event
  that was booked counts as a booking, whatever happened to it later (a rebooked appointment
  later attended or missed was still rebooked), except a cancellation;
- an event of another listed category (e.g. attended) that took place in that window.
The missed event's own id never counts, so a booked-then-noshow appointment does not follow
itself up.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable
from datetime import datetime

from app.rules.calendar import end_of_day_after
from app.rules.model import EventView
from app.rules.places import organisation_only
from app.rules.plan import Plan

CANCELLED = frozenset({"carer-cancelled", "provider-cancelled", "cancelled-unknown"})


class FollowUpIndex:
    """The follow-up moments of some children, by child and service."""

    def __init__(self, plan: Plan, events: Iterable[EventView]) -> None:
        """Index the moments of `events` that would count as a follow-up under `plan`."""
        self._plan = plan
        self._same_service = plan.rule.no_follow_up is None or plan.rule.no_follow_up.same_service
        bookings = "booked" in plan.follow_up_categories
        found: dict[tuple[str, str | None], list[tuple[datetime, str]]] = {}
        for event in events:
            moments = []
            if bookings and event.booked_at is not None and event.category not in CANCELLED:
                moments.append(event.booked_at)
            if event.category in plan.follow_up_categories and (
                event.category != "booked" or event.booked_at is None
            ):
                moments.append(event.at)  # an attendance counts when it took place
            for moment in moments:
                found.setdefault(self._key(event), []).append((moment, event.event_id))
                if self._same_service and event.place is not None:
                    found.setdefault(_at(event.child_id, event.place), []).append(
                        (moment, event.event_id)
                    )
        self._times: dict[tuple[str, str | None], list[datetime]] = {}
        self._ids: dict[tuple[str, str | None], list[str]] = {}
        for key, rows in found.items():
            rows.sort()
            self._times[key] = [at for at, _ in rows]
            self._ids[key] = [event_id for _, event_id in rows]

    def _key(self, event: EventView) -> tuple[str, str | None]:
        # An unknown service only matches an unknown service: a GP visit must not be taken as
        # the follow-up of a hospital clinic nobody rebooked.
        return event.child_id, event.service_key if self._same_service else None

    def followed_up(self, missed: EventView) -> bool:
        """True if a follow-up moment of the same child (and service) is strictly after
        `missed` and before the end of the local calendar day `within_days` after it."""
        return self.follow_up_of(missed) is not None

    def follow_up_of(self, missed: EventView) -> str | None:
        """The id of the first event that followed `missed` up in time (see `followed_up`),
        or None: what a withdrawal of a time-based flag names as its reason."""
        assert self._plan.follow_up is not None
        limit = end_of_day_after(missed.at, self._plan.follow_up)
        found = [self._first(key, missed, limit) for key in self._keys_of(missed)]
        hits = [f for f in found if f is not None]
        return min(hits)[1] if hits else None

    def _keys_of(self, missed: EventView) -> list[tuple[str, str | None]]:
        keys = [self._key(missed)]
        if self._same_service and organisation_only(missed.service_key):
            keys.append(_at(missed.child_id, missed.service_key or ""))  # any event there
        if self._same_service and missed.place is not None and missed.place != missed.service_key:
            keys.append((missed.child_id, missed.place))  # events known only by its place
        return keys

    def _first(
        self, key: tuple[str, str | None], missed: EventView, limit: datetime
    ) -> tuple[datetime, str] | None:
        times = self._times.get(key)
        if not times:
            return None
        ids = self._ids[key]
        for index in range(bisect_right(times, missed.at), len(times)):
            if times[index] >= limit:
                return None
            if ids[index] != missed.event_id:
                return times[index], ids[index]
        return None


def _at(child_id: str, place: str) -> tuple[str, str]:
    """The index key of every event of a child at one organisation (a key no service has)."""
    return child_id, "@" + place
