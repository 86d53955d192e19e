"""What a nurse must see before anything else on a child's page: the statuses that hold now
(a child protection plan and since when, looked after, child in need), whether the child has
died, and the GP practice the source named. Built from the chronology's status items and the
stored Patient, so it says exactly what the timeline shades."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy.orm import Session

from app.rules.desired import DEATH_DATE_UNKNOWN
from app.services.concerns.family_facts import deceased_at
from app.services.nurse.organisation_names import organisation_names
from app.services.nurse.shapes.chronology import ChronologyItem, StatusItem
from app.services.nurse.shapes.concern import ChildSummary
from app.store import worklist_repo


def statuses_now(items: Iterable[ChronologyItem], now: datetime) -> list[dict[str, Any]]:
    """Each status holding now, once, with the earliest start the sources stated."""
    held: dict[str, dict[str, Any]] = {}
    for i in items:
        if not isinstance(i, StatusItem) or i.kind != "status-start" or i.at > now:
            continue
        if i.end is not None and i.end <= now:
            continue
        known = held.get(i.status)
        if known is None or (i.start is not None and (known["since"] or now) > i.start):
            held[i.status] = {"status": i.status, "since": i.start, "stated": i.start_stated}
    return sorted(held.values(), key=lambda s: s["status"])


def practices(patient: dict[str, Any]) -> list[dict[str, str | None]]:
    """Patient.generalPractitioner as sent: the practice's name and its ODS code, when given."""
    out: list[dict[str, str | None]] = []
    for ref in patient.get("generalPractitioner") or []:
        if not isinstance(ref, dict):
            continue
        raw = ref.get("identifier")
        ident: dict[str, Any] = raw if isinstance(raw, dict) else {}
        display = ref.get("display") if isinstance(ref.get("display"), str) else None
        code = ident.get("value") if isinstance(ident.get("value"), str) else None
        if display or code:
            out.append({"name": display, "code": code})
    return out


def named_practices(session: Session, patient: dict[str, Any]) -> list[dict[str, str | None]]:
    """The practices, each named by its Organization when one is stored (a display the
    Patient's source sent never overrides that name)."""
    found = practices(patient)
    names = organisation_names(session, [p["code"] for p in found])
    return [{**p, "name": names.get(p["code"] or "") or p["name"]} for p in found]


def banner(
    session: Session, patient_id: str, items: Iterable[ChronologyItem], now: datetime
) -> dict[str, Any]:
    stored = worklist_repo.patients(session, [patient_id]).get(patient_id)
    patient = orjson.loads(stored.content) if stored else {}
    died = deceased_at(patient)
    return {
        "statuses": statuses_now(items, now),
        "deceased": died is not None,
        "died_on": None if died in (None, DEATH_DATE_UNKNOWN) else patient["deceasedDateTime"],
        "practices": named_practices(session, patient),
    }


def family_banner(
    session: Session, children: list[ChildSummary], items: list[ChronologyItem], now: datetime
) -> list[dict[str, Any]]:
    """Each child's banner on the family page: statuses holding now, a death, the GP
    practice, from the family chronology's items for that child. Two queries for the whole
    family (the Patients, then the practices' names), not two per child."""
    ids = [c.id for c in children]
    stored = worklist_repo.patients(session, ids)
    patients = {i: orjson.loads(stored[i].content) if i in stored else {} for i in ids}
    sent = {i: practices(p) for i, p in patients.items()}
    names = organisation_names(session, [p["code"] for ps in sent.values() for p in ps])
    out = []
    for c in children:
        patient, died = patients[c.id], deceased_at(patients[c.id])
        mine = [i for i in items if i.child_id == c.id]
        out.append(
            {
                "child": c,
                "statuses": statuses_now(mine, now),
                "deceased": died is not None,
                "died_on": None
                if died in (None, DEATH_DATE_UNKNOWN)
                else patient["deceasedDateTime"],
                "practices": [
                    {**p, "name": names.get(p["code"] or "") or p["name"]} for p in sent[c.id]
                ],
            }
        )
    return out
