"""Shapes of the chronologies (JSON, not FHIR): a time-ordered list of items, each naming
its child (or, for a carer's own appointments, the carer), and a family's carers."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field

from app.services.nurse.shapes.concern import ChildSummary, EventFields, Review


class Subject(BaseModel):
    child_id: str | None = Field(description="The child the item is about")
    carer: str | None = Field(description="The carer's key, for a carer's own appointment")


class EventItem(EventFields, Subject):
    kind: Literal["event"]


class StatusItem(Subject):
    at: datetime
    kind: Literal["status-start", "status-end"]
    status: str = Field(description="cp-plan, looked-after or child-in-need")
    start: datetime | None
    start_stated: bool = Field(
        description="false: the source gave no start; `start` is when the service learned of it"
    )
    end: datetime | None
    resource: str = Field(description='The resource that carried the status ("Flag/id")')


class FlagItem(Subject):
    at: datetime
    kind: Literal["flag-opened", "flag-updated", "flag-closed"]
    flag_id: str
    rule_id: str = Field(description="wnb-concern (a rule id for flags raised before concerns)")
    reasons: list[str] = Field(
        description="The concern's reasons (rule ids) in the Flag version in force at `at`"
    )
    # Each reason's rule, priority and words for a page's flag card; the API serves the ids.
    reason_details: list[dict[str, Any]] = Field(default_factory=list, exclude=True)
    rule_version: int
    priority: str = Field(description="The concern's priority in the Flag version at `at`")
    state: str = Field(description="The flag's state now")
    outcome: str | None
    description: str
    evidence: list[str]


class ReviewItem(Review, Subject):
    kind: Literal["review"]
    flag_id: str
    rule_id: str


class IdentityItem(Subject):
    at: datetime
    kind: Literal["identity-change"]
    changed: Literal["birth-date", "nhs-number"]
    before: str | None
    after: str | None
    version: int = Field(description="The Patient version that made the change")
    written_by: str | None = Field(description='"client/<id>" or "user/<name>" that wrote it')
    source: str | None = Field(description="The sender's meta.source, if given")


Delivery = Literal["pending", "delivered", "failed"]


class NotifiedItem(Subject):
    at: datetime
    kind: Literal["notified"]
    agency: str = Field(description="The agency's name as registered")
    agency_type: str | None
    flag_id: str
    rule_id: str
    reasons: list[str] = Field(description="The concern's reasons now (the nurse sees all)")
    payload: str = Field(description="id-only or full-resource: what the agency was sent")
    event_number: int | None
    delivery: Delivery
    delivered_at: datetime | None


class SharedItem(Subject):
    at: datetime = Field(description="When it was shared")
    kind: Literal["shared"]
    agency: str
    method: str = Field(description="phone, secure-email, meeting, in-person, letter or other")
    note: str | None
    recorded_by: str
    recorded_by_name: str = Field(description="The display name of who recorded it")
    recorded_at: datetime


ChronologyItem = Annotated[
    EventItem | StatusItem | FlagItem | ReviewItem | IdentityItem | NotifiedItem | SharedItem,
    Field(discriminator="kind"),
]


class ChildChronology(BaseModel):
    child: ChildSummary
    family_id: str | None
    items: list[ChronologyItem] = Field(description="Oldest first")


class Identifier(BaseModel):
    system: str
    value: str


class Carer(BaseModel):
    key: str = Field(description='"system|value" of the carer\'s identifier (NHS number first)')
    identifier: Identifier | None
    name: str | None
    relationships: list[str] = Field(description="Relationship codes (MTH, FTH, GUARD, ...)")
    related_persons: list[str] = Field(description="The RelatedPerson resources behind it")
    children: list[str] = Field(description="The children (Patient ids) they care for")
    active: bool
    patient_id: str | None = Field(
        description="The carer's own Patient record here, whose appointments are on the timeline"
    )
    telecom: list[str] = Field(
        default_factory=list, description='Telephone and email as sent: "07700 900123 (mobile)"'
    )
    address: list[str] = Field(default_factory=list, description="Addresses as sent, one line each")


class FamilyChronology(BaseModel):
    family_id: str | None
    children: list[ChildSummary] = Field(description="Every patient of the family")
    carers: list[Carer]
    items: list[ChronologyItem] = Field(description="Oldest first, every child and carer")
