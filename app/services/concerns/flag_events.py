"""Describing concern changes for the notifier: what changed, and which areas each is in."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy.orm import Session

from app.fhir.organisations import organisation_code, patient_organisations
from app.notify.events import FlagEvent, ReasonFacts
from app.services.concerns import flags
from app.services.concerns.concern import Concern
from app.services.concerns.family_facts import Place
from app.store import agency_repo


@dataclass(frozen=True)
class FlagFacts:
    """What a FlagEvent needs of a raised flag, as a change leaves it."""

    flag_id: str
    reasons: list[dict[str, Any]]  # as stored (JSON), parsed
    priority: str
    child_id: str
    family_id: str
    agencies: str  # space-separated, as stored
    evidence_events: list[str]  # "Type/id"


@dataclass(frozen=True)
class AreaSources:
    """What a reconciliation already read under its lock that names areas: each family
    member's stored Patient JSON (None: none stored) and where each of its events happened."""

    patients: Mapping[str, str | None]
    places: Mapping[str, Mapping[str, Place]]


def reconciled_events(
    session: Session,
    changes: Iterable[flags.Change],
    known: flags.Judged,
    versions: Mapping[str, int],
    at: datetime,
    sources: AreaSources | None = None,
) -> list[FlagEvent]:
    """The FlagEvents of a reconciliation's changes, from what it already holds (no query
    for the flags themselves, nor for their areas when `sources` has them): each change's
    values over the row it changes."""
    facts: list[tuple[str, FlagFacts]] = []
    for c in changes:
        row = known.current.get(c.child_id)
        merged = {**(_stored(row) if row is not None else {}), **c.values}
        had = list(known.had(c.child_id).values())
        reasons = had if c.reasons is None else c.reasons
        if not reasons and row is not None and had:
            # Every reason gone: the agencies that had one are told that it ended.
            reasons, merged["agencies"] = had, row.agencies
        facts.append(
            (
                c.kind,
                FlagFacts(
                    c.flag_id,
                    reasons,
                    merged["priority"],
                    c.child_id,
                    merged.get("family_id") or c.child_id,
                    merged["agencies"],
                    merged["evidence_events"],
                ),
            )
        )
    return events_of(session, facts, versions, at, sources)


def flag_events(
    session: Session, kind: str, flag_ids: Iterable[str], at: datetime, versions: Mapping[str, int]
) -> list[FlagEvent]:
    """A FlagEvent of `kind` for each raised flag named; `versions` the FHIR Flag version
    each change wrote."""
    concerns = [Concern.of(r) for r in agency_repo.flags_by_id(session, flag_ids)]
    facts = [(kind, FlagFacts(**{**_stored(c), "reasons": c.reasons})) for c in concerns]
    return events_of(session, facts, versions, at)


def events_of(
    session: Session,
    facts: list[tuple[str, FlagFacts]],
    versions: Mapping[str, int],
    at: datetime,
    sources: AreaSources | None = None,
) -> list[FlagEvent]:
    """FlagEvents with their areas: the child's GP or managing organisation and the booking
    organisations of the flag's evidence (one query for all that `sources` does not hold)."""
    if not facts:
        return []
    evidence = {f.flag_id: f.evidence_events for _, f in facts}
    patients, organisations = _area_sources(
        session,
        {f.child_id for _, f in facts},
        {e for refs in evidence.values() for e in refs if "/" in e},
        sources,
    )
    out: list[FlagEvent] = []
    for kind, f in facts:
        areas = _patient_areas(patients.get(f.child_id))
        areas |= {
            code
            for ref in evidence[f.flag_id]
            if (code := organisation_code(organisations.get(ref)))
        }
        out.append(
            FlagEvent(
                kind=kind,
                flag_id=f.flag_id,
                flag_version=versions.get(f.flag_id, 1),
                reasons=tuple(
                    ReasonFacts(r["rule"], r["priority"], tuple(r.get("agencies", ())))
                    for r in f.reasons
                ),
                priority=f.priority,
                child_id=f.child_id,
                family_id=f.family_id,
                agencies=tuple(f.agencies.split()),
                areas=tuple(sorted(areas)),
                at=at,
            )
        )
    return out


def _area_sources(
    session: Session, children: set[str], refs: set[str], sources: AreaSources | None
) -> tuple[dict[str, str | None], dict[str, str]]:
    """Each child's stored Patient JSON and each event's booking organisation: from `sources`
    where it holds them, the rest in one query (`agency_repo.area_sources`)."""
    patients: dict[str, str | None] = {}
    organisations: dict[str, str] = {}
    if sources is not None:
        patients = {c: sources.patients[c] for c in children if c in sources.patients}
        for ref in refs & sources.places.keys():
            # One organisation per event: every child's row of it is coded from one resource.
            here = (p.organisation for p in sources.places[ref].values() if p.organisation)
            if (organisation := next(here, None)) is not None:
                organisations[ref] = organisation
        children, refs = children - patients.keys(), refs - sources.places.keys()
    if children or refs:
        found, booked = agency_repo.area_sources(session, children, refs)
        patients.update(found)
        organisations.update(booked)
    return patients, organisations


def _patient_areas(content: str | None) -> set[str]:
    """The child's GP practice(s) and managing organisation, from its stored JSON; parsed only
    when it names one (stored JSON is the service's own serialisation: keys unescaped)."""
    if not content or (
        '"generalPractitioner"' not in content and '"managingOrganization"' not in content
    ):
        return set()
    return patient_organisations(orjson.loads(content))


def _stored(row: Concern) -> dict[str, Any]:
    return {
        "flag_id": row.flag_id,
        "priority": row.priority,
        "child_id": row.child_id,
        "family_id": row.family_id,
        "agencies": row.agencies,
        "evidence_events": row.evidence_events,
    }
