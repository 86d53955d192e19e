"""Plain value objects the rule engine reads and returns; no database, no FHIR types."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from operator import attrgetter

from app.fhir.terminology import CATEGORIES

_CATEGORIES = frozenset(CATEGORIES)
# The one order events are replayed in: time, then id (then category) to break ties.
# attrgetter rather than a lambda: a backtest sorts a million events with it.
event_order = attrgetter("at", "event_id", "category")


@dataclass(frozen=True, slots=True)
class EventView:
    """One coded appointment outcome of one child.

    `at` is tz-aware (UTC); `age_days` is the child's age in days on the Europe/London date of
    the event, from the latest possible birth date (None = unknown); `age_uncertain_days` how
    many days older the child may be (a partial birth date; 0 = exact). `service_key` is the
    normalised key the rules compare services by (`app.fhir.service_key` builds it; None:
    unknown), never the code as the source sent it. `booked_at` is when the appointment was
    booked (None: unknown, the rules then use `at`). `place` is the key of the organisation it
    happened at (as `app.fhir.service_key.organisation_key` makes it), None when not known. Two
    views are the same event only if every field is equal, so a caller that keeps one row per
    status change of an Appointment can hand both in.
    """

    event_id: str
    child_id: str
    at: datetime
    category: str
    service_key: str | None = None
    age_days: int | None = None
    booked_at: datetime | None = None
    age_uncertain_days: int = 0
    place: str | None = None

    def __post_init__(self) -> None:
        # Naive datetimes would fail later, deep inside a comparison; fail here with the id.
        if self.at.tzinfo is None:
            raise ValueError(f"event {self.event_id}: `at` must be timezone-aware")
        if self.category not in _CATEGORIES:
            raise ValueError(f"event {self.event_id}: unknown category {self.category!r}")


@dataclass(frozen=True, slots=True)
class StatusView:
    """A safeguarding status of a child (from a FHIR Flag): cp-plan, looked-after, child-in-need.

    Active at an instant when `start <= at <= end`; a missing start or end is open on that side.
    `start_stated` False: the Flag gave no start, and `start` is when the service first learned
    of the status (a flag it supports says the period is unknown).
    """

    child_id: str
    status: str
    start: datetime | None = None
    end: datetime | None = None
    start_stated: bool = True

    def active_at(self, at: datetime) -> bool:
        """True when the status covers `at` (both ends inclusive)."""
        return (self.start is None or self.start <= at) and (self.end is None or at <= self.end)


@dataclass(frozen=True, slots=True)
class Firing:
    """A rule that fired: which children to flag, on what evidence, and how to say it."""

    rule_id: str
    rule_version: int
    child_ids: tuple[str, ...]
    evidence_event_ids: tuple[str, ...]
    description: str
    priority: str
    trigger_event_id: str = ""
    agencies: tuple[str, ...] = ()
    # Children of the evidence whose birth date is partial: their age was decided on the side
    # of the child, and the flag says so.
    age_uncertain_child_ids: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class TimedFiring:
    """A firing found by `backtest`, with when it would have happened.

    `at` is the trigger event's time for ingest rules and the moment the window closed for
    time-based rules (e.g. the missed appointment + 14 days); `trigger_at` is always the event's.
    """

    at: datetime
    trigger_at: datetime
    firing: Firing
