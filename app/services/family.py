"""Keeping families up to date as resources arrive: every patient starts in a family of one;
a carer's identifier (RelatedPerson) or a household (Group) shared by two patients makes them
one family. Merges and splits are worked out over the link graph around the changed patients."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from app.fhir.references import split_local
from app.store import family_repo


def new_family_id() -> str:
    return f"fam-{uuid.uuid4().hex}"


def add_patients(session: Session, patient_ids: Iterable[str], now: datetime) -> None:
    """A family of one for each new patient."""
    family_repo.add_families(session, [(new_family_id(), p) for p in sorted(set(patient_ids))], now)


def links_of(type_name: str, rid: str, data: dict[str, Any]) -> list[tuple[str, str]]:
    """(link key, patient id) pairs a RelatedPerson or Group asserts."""
    if type_name == "RelatedPerson":
        child = split_local((data.get("patient") or {}).get("reference") or "")
        if child is None or child[0] != "Patient" or data.get("active") is False:
            return []
        return [
            (f"carer:{i['system']}|{i['value']}"[:300], child[1])
            for i in data.get("identifier", [])
            if isinstance(i, dict) and i.get("system") and i.get("value")
        ]
    if type_name == "Group" and data.get("type") == "person" and data.get("active", True):
        members = [
            split_local((m.get("entity") or {}).get("reference") or "")
            for m in data.get("member", [])
            if not m.get("inactive")
        ]
        return [(f"group:{rid}", m[1]) for m in members if m and m[0] == "Patient"]
    return []


def update_links(
    session: Session, source: str, links: list[tuple[str, str]], now: datetime
) -> None:
    changed = family_repo.replace_links(session, source, links)
    if changed:
        regroup(session, changed, now)


def regroup(session: Session, patient_ids: list[str], now: datetime) -> None:
    """Make each connected group of patients around `patient_ids` exactly one family."""
    components = _components(session, patient_ids)
    current = family_repo.families_of(session, [p for c in components for p in c])
    taken: set[str] = set()
    for component in components:
        ids = sorted({current[p] for p in component if p in current} - taken)
        target = ids[0] if ids else new_family_id()  # a split-off part gets a new family
        taken.add(target)
        movers = sorted(p for p in component if current.get(p) != target)
        if target not in current.values():
            family_repo.add_families(session, [(target, movers[0])], now)
            movers = movers[1:]
        family_repo.move(session, movers, target)


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
