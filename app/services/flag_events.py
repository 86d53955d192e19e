"""Describing flag changes for the notifier: which agencies' areas each flag is in."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

import orjson
from sqlalchemy.orm import Session

from app.fhir.organisations import organisation_code, patient_organisations
from app.notify.events import FlagEvent
from app.store import agency_repo, resources_repo


def flag_events(
    session: Session,
    kind: str,
    flag_ids: Iterable[str],
    at: datetime,
    versions: dict[str, int] | None = None,
) -> list[FlagEvent]:
    """A FlagEvent of `kind` for each raised flag named. `versions` gives the FHIR Flag
    version each change made; without it the change is taken to write the next version
    (the flag services write the Flag after deciding, in the same transaction)."""
    rows = agency_repo.flags_by_id(session, flag_ids)
    if not rows:
        return []
    if versions is None:
        current = resources_repo.versions_of(session, "Flag", [r.flag_id for r in rows])
        versions = {r.flag_id: current.get(r.flag_id, (0, 0))[1] + 1 for r in rows}
    evidence = {r.flag_id: orjson.loads(r.evidence_events) for r in rows}
    organisations = agency_repo.event_organisations(
        session, {ref for refs in evidence.values() for ref in refs}
    )
    patients = resources_repo.patient_contents(session, {r.child_id for r in rows})
    out: list[FlagEvent] = []
    for r in rows:
        areas = (
            patient_organisations(orjson.loads(patients[r.child_id]))
            if (r.child_id in patients)
            else set()
        )
        areas |= {
            code
            for ref in evidence[r.flag_id]
            if (code := organisation_code(organisations.get(ref)))
        }
        out.append(
            FlagEvent(
                kind=kind,
                flag_id=r.flag_id,
                flag_version=versions.get(r.flag_id, 1),
                rule_id=r.rule_id,
                priority=r.priority,
                child_id=r.child_id,
                family_id=r.family_id,
                agencies=tuple(r.agencies.split()),
                areas=tuple(sorted(areas)),
                at=at,
            )
        )
    return out
