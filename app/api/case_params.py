"""Reading case work's input in the nurse API: who should own a child's case, and what was
shared with another agency. (The answers' shapes: `app/services/nurse/shapes/case.py`.)"""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, ConfigDict, Field

from app.api.nurse_params import json_body
from app.services.nurse.case_owner import Assignment
from app.services.nurse.sharing import SharingInput


class OwnerRequest(BaseModel):
    """Give the case to `owner` (a username; `me` for yourself; null for nobody) with the
    date of its next review."""

    model_config = ConfigDict(extra="forbid")

    owner: str | None = Field(max_length=100, pattern=r"^[^\x00]*$")
    next_review: date | None = None


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
