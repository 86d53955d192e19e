"""Chronologies (JSON, not FHIR): a child's timeline, and a family's (every child and their
carers on one timeline). Every read is audited with each patient it disclosed."""

from __future__ import annotations

from fastapi import APIRouter

from app.api.audited import audited
from app.api.nurse_params import Id
from app.api.openapi_docs import fhir_responses
from app.api.state import PrincipalDep, StateDep
from app.services.access.audit import AuditNote
from app.services.nurse.chronology import (
    child_chronology,
    family_chronology,
    family_chronology_of_child,
)
from app.services.nurse.shapes.chronology import ChildChronology, FamilyChronology

ERRORS = fhir_responses(400, 401, 403, 404, 429)
CHILD_NEEDS = (("Patient", "read"), ("Appointment", "search"), ("Flag", "search"))
FAMILY_NEEDS = (*CHILD_NEEDS, ("RelatedPerson", "search"))

router = APIRouter()


@router.get(
    "/children/{patient_id}/chronology",
    tags=["Nurse"],
    summary="A child's chronology: outcomes, statuses, flags and reviews in time order",
    description="Needs Patient read, Appointment and Flag search scopes; audited.",
    response_model=ChildChronology,
    responses=ERRORS,
)
async def get_child_chronology(
    patient_id: Id, state: StateDep, who: PrincipalDep
) -> ChildChronology:
    note = AuditNote("read", "Patient", [f"Patient/{patient_id}"])
    now = state.clock()
    return await audited(
        state, who, note, CHILD_NEEDS, lambda s: child_chronology(s, patient_id, now)
    )


@router.get(
    "/families/{family_id}/chronology",
    tags=["Nurse"],
    summary="A family's chronology: every child and carer on one timeline",
    description="The family's children (family members) and their carers (RelatedPerson, "
    "one per identifier); a carer with a Patient record here brings their own missed "
    "appointments. Needs Patient read, Appointment, Flag and RelatedPerson search scopes; "
    "audited with every patient shown.",
    response_model=FamilyChronology,
    responses=ERRORS,
)
async def get_family_chronology(
    family_id: Id, state: StateDep, who: PrincipalDep
) -> FamilyChronology:
    note = AuditNote("read", "Patient")
    now = state.clock()
    return await audited(
        state, who, note, FAMILY_NEEDS, lambda s: family_chronology(s, family_id, now)
    )


@router.get(
    "/children/{patient_id}/family-chronology",
    tags=["Nurse"],
    summary="The chronology of the child's whole family",
    description="As /api/families/{family_id}/chronology, for the child's family now.",
    response_model=FamilyChronology,
    responses=ERRORS,
)
async def get_family_chronology_of_child(
    patient_id: Id, state: StateDep, who: PrincipalDep
) -> FamilyChronology:
    note = AuditNote("read", "Patient", [f"Patient/{patient_id}"])
    now = state.clock()
    return await audited(
        state, who, note, FAMILY_NEEDS, lambda s: family_chronology_of_child(s, patient_id, now)
    )
