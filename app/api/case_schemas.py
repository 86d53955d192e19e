"""Shapes of case ownership in the nurse API: who owns a child's case, and her caseload."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, ConfigDict, Field

from app.api.nurse_params import json_body
from app.api.nurse_schemas import CaseOwnerView, ChildSummary
from app.services.nurse.case_owner import Assignment
from app.services.nurse.sharing import SharingInput


class OwnerRequest(BaseModel):
    """Give the case to `owner` (a username; `me` for yourself; null for nobody) with the
    date of its next review."""

    model_config = ConfigDict(extra="forbid")

    owner: str | None = Field(max_length=100, pattern=r"^[^\x00]*$")
    next_review: date | None = None


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


def owner_request(raw: bytes, me: str) -> Assignment:
    """The body, or 400 naming each thing wrong with it; `me` stands for the caller."""
    body = json_body(OwnerRequest, raw)
    return Assignment(me if body.owner == "me" else body.owner, body.next_review)


class SharingRequest(BaseModel):
    """Something shared with another agency outside this service, to keep on the record."""

    model_config = ConfigDict(extra="forbid")

    agency: str = Field(
        max_length=200, pattern=r"^[^\x00]*$", description='e.g. "Health visiting team, Leeds"'
    )
    method: str = Field(
        max_length=32, description="phone, secure-email, meeting, in-person, letter, other"
    )
    shared_at: datetime = Field(description="When, with a zone")
    note: str | None = Field(default=None, max_length=4000, pattern=r"^[^\x00]*$")


def sharing_request(raw: bytes) -> SharingInput:
    body = json_body(SharingRequest, raw)
    return SharingInput(body.agency, body.method, body.shared_at, body.note)
