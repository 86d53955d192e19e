"""Loading what the rules may read of families: their children's events (merged records
folded into the surviving record), safeguarding statuses and dates of death. One query per
kind of fact for the whole batch of families, through indexes on the patients."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple

import orjson
from sqlalchemy.orm import Session

from app.fhir.dates import parse_range
from app.fhir.service_key import organisation_key
from app.rules import EventView, StatusView
from app.rules.desired import DEATH_DATE_UNKNOWN, FamilyFacts
from app.store import family_repo, rules_repo


@dataclass(frozen=True)
class Loaded:
    """Each family's facts, and which surviving record each merged record counts as."""

    facts: dict[str, FamilyFacts]
    surviving: dict[str, str]  # every member -> the record its events count as (merges)
    # event id -> where it happened, per child (a joint appointment has one row per child)
    places: dict[str, dict[str, Place]]
    # every member -> its stored Patient JSON (None: none stored), as read under the lock:
    # the notifier finds a concern's areas here without reading the Patient again
    patients: dict[str, str | None]


class Place(NamedTuple):
    """Where an event happened and how old its child was: a new flag's organisation and age.
    A named tuple: one is made for every event a reconciliation loads."""

    organisation: str | None
    age_days: int | None


def surviving_records(direct: Mapping[str, str], patient_ids: Iterable[str]) -> dict[str, str]:
    """Each patient -> its surviving record, following chains of merges (A -> B -> C). A
    cycle (stored before cycles were refused) is one record, named by its smallest id: a
    child is never its own sibling."""
    out: dict[str, str] = {}
    for patient in patient_ids:
        path, current = [patient], patient
        while current in direct:
            current = direct[current]
            if current in path:
                current = min(path[path.index(current) :])
                break
            path.append(current)
        out[patient] = current
    return out


def load(
    session: Session, members: Sequence[family_repo.MemberRow], uses_statuses: bool
) -> tuple[dict[str, list[str]], Loaded]:
    """The facts of each family from its members' rows (`family_repo.members_with_records`):
    family id -> patient ids, and the facts."""
    groups: dict[str, list[str]] = defaultdict(list)
    direct: dict[str, str] = {}
    deaths_of: dict[str, datetime] = {}
    patients: dict[str, str | None] = {}
    for family_id, patient_id, canonical_id, content in members:
        groups[family_id].append(patient_id)
        patients[patient_id] = content
        if canonical_id:
            direct[patient_id] = canonical_id
        if content and '"deceased' in content and (died := deceased_at(orjson.loads(content))):
            deaths_of[patient_id] = died
    everyone = sorted({p for group in groups.values() for p in group})
    surviving = surviving_records(direct, everyone)
    by_child: dict[str, list[EventView]] = defaultdict(list)
    places: dict[str, dict[str, Place]] = defaultdict(dict)
    # Unpacked by position and built positionally: a Bundle's families load thousands of
    # events, and attribute lookups and keywords cost a third of this loop.
    for row in rules_repo.events_of_children(session, everyone):
        _, kind, rid, child, at, category, service, age, booked, uncertain, organisation = row
        child = surviving.get(child, child)
        event_id = f"{kind}/{rid}"
        places[event_id][child] = Place(organisation, age)
        by_child[child].append(
            EventView(
                event_id,
                child,
                at,
                category,
                service,
                age,
                booked,
                uncertain,
                organisation_key(organisation),
            )
        )
    statuses: dict[str, list[StatusView]] = defaultdict(list)
    if uses_statuses:
        for s in rules_repo.statuses_of(session, everyone):
            child = surviving.get(s.child_id, s.child_id)
            statuses[child].append(StatusView(child, s.status, s.start, s.end, s.start_stated))
    deaths = {surviving.get(p, p): died for p, died in deaths_of.items()}
    facts = {}
    for family_id, group in groups.items():
        kids = sorted({surviving.get(p, p) for p in group})
        facts[family_id] = FamilyFacts(
            events=[e for k in kids for e in by_child.get(k, ())],
            statuses=[s for k in kids for s in statuses.get(k, ())],
            deaths={k: deaths[k] for k in kids if k in deaths},
        )
    return dict(groups), Loaded(facts, surviving, dict(places), patients)


def deceased_at(patient: dict[str, Any]) -> datetime | None:
    """When a Patient died: its deceasedDateTime, or for `deceasedBoolean` true with no date
    `DEATH_DATE_UNKNOWN` (the death may have come before any event of the record, so none
    raises a new flag; open flags go to a nurse as with a date)."""
    when = patient.get("deceasedDateTime")
    if isinstance(when, str) and (bounds := parse_range(when)) is not None:
        return bounds[1]  # the end of the day (or instant) given: the death is within it
    if patient.get("deceasedBoolean") is True:
        return DEATH_DATE_UNKNOWN
    return None
