"""Keeping families up to date as resources arrive: every patient starts in a family of one;
a carer's identifier (RelatedPerson) or a household (Group) shared by two patients makes them
one family. Merges and splits are worked out over the link graph around the changed patients."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from app.fhir.dates import parse_range
from app.fhir.new_id import time_ordered_uuid
from app.fhir.references import split_local
from app.store import family_repo


def new_family_id() -> str:
    return f"fam-{time_ordered_uuid().hex}"


def add_patients(session: Session, patient_ids: Iterable[str], now: datetime) -> None:
    """A family of one for each new patient."""
    family_repo.add_families(session, [(new_family_id(), p) for p in sorted(set(patient_ids))], now)


def links_of(
    type_name: str,
    rid: str,
    data: dict[str, Any],
    now: datetime,
    links_carer: Callable[[str, str], bool] = lambda _system, _value: True,
) -> list[tuple[str, str]]:
    """(link key, patient id) pairs a RelatedPerson, Group or Patient asserts at `now`.

    An inactive carer or membership, one whose period has not started yet or has ended, and a
    Group that is not an actual household (`actual` false: a definition, not people) link no
    one. A Patient merged into another (`link` replaced-by / replaces) is linked to it, so the
    two records are always one family. `next_boundary` says when the answer changes.
    """
    if type_name == "RelatedPerson":
        child = split_local((data.get("patient") or {}).get("reference") or "")
        if child is None or child[0] != "Patient" or data.get("active") is False:
            return []
        if not _in_period(data.get("period"), now):
            return []
        return [
            (f"carer:{i['system']}|{i['value']}"[:300], child[1])
            for i in data.get("identifier", [])
            if isinstance(i, dict)
            and i.get("system")
            and i.get("value")
            and links_carer(str(i["system"]), str(i["value"]))
        ]
    if _household(type_name, data):
        members = [
            split_local((m.get("entity") or {}).get("reference") or "")
            for m in data.get("member", [])
            if isinstance(m, dict) and not m.get("inactive") and _in_period(m.get("period"), now)
        ]
        return [(f"group:{rid}", m[1]) for m in members if m and m[0] == "Patient"]
    if type_name == "Patient":
        return [(f"same:{a}|{b}"[:300], p) for a, b in merges_of(rid, data) for p in (a, b)]
    return []


def merges_of(rid: str, data: dict[str, Any]) -> list[tuple[str, str]]:
    """(merged record, surviving record) pairs a Patient states through `link`."""
    found: list[tuple[str, str]] = []
    for link in data.get("link") or []:
        if not isinstance(link, dict):
            continue
        other = split_local((link.get("other") or {}).get("reference") or "")
        if other is None or other[0] != "Patient" or other[1] == rid:
            continue
        if link.get("type") == "replaced-by":
            found.append((rid, other[1]))
        elif link.get("type") == "replaces":
            found.append((other[1], rid))
    return found


def next_boundary(type_name: str, data: dict[str, Any], now: datetime) -> datetime | None:
    """The first moment after `now` at which a carer's or a membership's period starts or
    ends, so `links_of` would answer differently: the family must be worked out again then,
    even if nothing is sent (a durable mark, as time-based rules have)."""
    periods: list[Any] = []
    if type_name == "RelatedPerson" and data.get("active") is not False:
        periods = [data.get("period")]
    elif _household(type_name, data):
        periods = [m.get("period") for m in data.get("member", []) if isinstance(m, dict)]
    moments = [at for period in periods for at in _bounds(period) if at is not None and at > now]
    return min(moments, default=None)


def _household(type_name: str, data: dict[str, Any]) -> bool:
    return (
        type_name == "Group"
        and data.get("type") == "person"
        and data.get("active", True) is not False
        and data.get("actual", True) is not False
    )


def _bounds(period: Any) -> tuple[datetime | None, datetime | None]:
    """(when the period starts, when it has ended): the start of its start (a date starts at
    the beginning of its day) and the end of its end (a date ends when the day ends). None:
    open on that side."""
    start = end = None
    if isinstance(period, dict):
        if isinstance(period.get("start"), str) and (lo := parse_range(period["start"])):
            start = lo[0]
        if isinstance(period.get("end"), str) and (hi := parse_range(period["end"])):
            end = hi[1]
    return start, end


def _in_period(period: Any, now: datetime) -> bool:
    start, end = _bounds(period)
    return (start is None or start <= now) and (end is None or now < end)


def update_links(
    session: Session, source: str, links: list[tuple[str, str]], now: datetime
) -> set[str]:
    """Record the links `source` asserts; the patients whose families were looked at again."""
    changed = family_repo.replace_links(session, source, links)
    return regroup(session, changed, now) if changed else set()


def regroup(session: Session, patient_ids: list[str], now: datetime) -> set[str]:
    """Make each connected group of patients exactly one family, looking at `patient_ids`
    and every member of their current families (a carer moved away may split a family whose
    other members were not named). Returns every patient looked at: all of their families'
    flags must be judged again. Families left empty are deleted."""
    before = family_repo.families_of(session, patient_ids)
    family_repo.lock(session, before.values())
    everyone = set(patient_ids) | {
        p for group in family_repo.members(session, before.values()).values() for p in group
    }
    components = _components(session, sorted(everyone))
    involved = {p for c in components for p in c}
    current = family_repo.families_of(session, involved)
    family_repo.lock(session, set(current.values()) - set(before.values()))
    taken: set[str] = set()
    for component in sorted(components, key=min):
        ids = sorted({current[p] for p in component if p in current} - taken)
        target = ids[0] if ids else new_family_id()  # a split-off part gets a new family
        taken.add(target)
        if not ids:
            family_repo.add_empty_families(session, [target], now)
        family_repo.add_members(session, sorted(p for p in component if p not in current), target)
        family_repo.move(
            session, sorted(p for p in component if p in current and current[p] != target), target
        )
    family_repo.delete_families(session, set(current.values()) - taken)
    return involved


def _components(session: Session, start: list[str]) -> list[set[str]]:
    seen: set[str] = set()
    components: list[set[str]] = []
    for origin in sorted(start):
        if origin in seen:
            continue
        component, frontier = {origin}, {origin}
        while frontier:
            neighbours = family_repo.linked_patients(session, frontier)
            frontier = set().union(*neighbours.values()) - component
            component |= frontier
        seen |= component
        components.append(component)
    return components
