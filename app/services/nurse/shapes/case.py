"""Shapes of case ownership (JSON, not FHIR): who owns a child's case, and a nurse's
caseload."""

from __future__ import annotations

from pydantic import BaseModel, Field

from app.services.nurse.shapes.concern import CaseOwnerView, ChildSummary


class OwnedChild(BaseModel):
    id: str
    owner: CaseOwnerView | None


class OwnerAnswer(BaseModel):
    children: list[OwnedChild] = Field(description="Each child whose case changed hands")


class CaseloadItem(ChildSummary):
    nhs_number: str | None
    family_id: str | None
    open_flags: int = Field(description="Flags of the child still open")
    highest_priority: str | None = Field(description="The highest priority among them")
    case: CaseOwnerView


class Person(BaseModel):
    username: str
    name: str


class Caseload(BaseModel):
    owner: Person
    items: list[CaseloadItem] = Field(
        description="Overdue reviews first, then by next review date, then priority"
    )
