"""The shape of a child search (JSON, not FHIR): the children found, each with the other
members of their family now. A search is how a nurse tells two children of one name apart,
so it serves each one's NHS number (declared here, unlike `ChildSummary`'s)."""

from __future__ import annotations

from pydantic import BaseModel, Field

from app.services.nurse.shapes.concern import ChildSummary


class FoundPerson(ChildSummary):
    nhs_number: str | None = Field(description="NHS number, when the Patient carries one")


class FoundChild(FoundPerson):
    family_id: str | None = Field(description="The child's family now; null when none")
    family: list[FoundPerson] = Field(description="The other members of the family now")


class ChildSearch(BaseModel):
    query: str = Field(description="`q` as given")
    results: list[FoundChild] = Field(
        description="At most 50, by name, then date of birth, then id"
    )
    more: bool = Field(description="More matched than were returned: narrow the search")
