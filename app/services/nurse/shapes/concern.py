"""Shapes of a concern as the nurse sees it (JSON, not FHIR): the child it is about, its
reasons, its owner, its reviews and its evidence; what a review of it and of a family
returns."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Literal, get_args

from pydantic import BaseModel, Field

from app.fhir.concern_state import ConcernState

# The OpenAPI document lists a concern's states as an enum of strings: built from
# `ConcernState` so it cannot drift from it. (mypy cannot read a Literal built at run time;
# to it the state is a string.)
if TYPE_CHECKING:
    StateWord = str
else:
    StateWord = Literal[tuple(s.value for s in ConcernState)]

Priority = Literal["high", "medium", "low"]
ReviewAction = Literal["acknowledge", "note", "outcome", "close", "reopen"]
# What a nurse decided. A local list: the partnership may want its own words.
ReviewOutcome = Literal[
    "no-further-action",
    "appointment-rebooked",
    "discussed-with-health-visitor",
    "discussed-with-school-nurse",
    "discussed-with-gp",
    "discussed-with-social-worker",
    "referred-to-early-help",
    "referred-to-childrens-social-care",
    "referred-to-mash",
    "other",
]
REVIEW_OUTCOMES: tuple[str, ...] = get_args(ReviewOutcome)
ReviewerKind = Literal["client", "user", "system"]
# What the service itself records when the facts under a flag change.
SystemAction = Literal["withdraw", "evidence-changed", "reopen", "deceased"]


class ChildSummary(BaseModel):
    id: str = Field(description="Patient id")
    name: str | None = Field(description="The child's official (else first) name")
    birth_date: str | None = Field(description="Patient.birthDate as sent")
    age_days: int | None = Field(description="Age in days today; null when not known")
    # The pages show it; the API serves it only where a shape declares it (a caseload).
    nhs_number: str | None = Field(default=None, exclude=True)


class FlagLinks(BaseModel):
    flag: str = Field(description="The FHIR Flag (read, _history)")
    chronology: str = Field(description="The child's chronology")


class CaseOwnerView(BaseModel):
    username: str
    name: str = Field(description="The owner's display name (else the username)")
    next_review: str | None = Field(description="Date by which the owner reviews the case")
    overdue: bool = Field(description="The next review date has passed")
    assigned_by: str = Field(description="Who assigned the case, by name")
    assigned_at: datetime


class ConcernReason(BaseModel):
    """One rule that holds for the child now."""

    rule_id: str
    rule_version: int
    priority: Priority
    summary: str = Field(description="What the rule saw, in words")
    agencies: list[str] = Field(description="The agency types the rule concerns")
    evidence: list[str] = Field(description='The outcomes behind this reason ("Appointment/id")')


class WorklistItem(BaseModel):
    """A child's concern: one per child, its reasons the rules that hold now."""

    flag_id: str
    reasons: list[ConcernReason] = Field(description="Highest priority first")
    priority: Priority = Field(description="Its highest reason's")
    state: StateWord
    outcome: str | None = Field(description="What the last review decided, if anything yet")
    description: str = Field(description="The reasons' summaries, in words")
    child: ChildSummary
    family_id: str
    organisation: str | None = Field(description="Organisation of the child's latest evidence")
    organisation_name: str | None = Field(
        default=None,
        description="Its name: from its Organization resource, else the display a source sent "
        "with the code; filled on a concern's own view, null on the worklist",
    )
    opened_at: datetime
    last_event_at: datetime
    closed_at: datetime | None
    evidence: list[str] = Field(description='The outcomes behind the flag ("Appointment/id")')
    links: FlagLinks
    owner: CaseOwnerView | None = Field(None, description="Who owns the child's case, if anyone")


class Reviewer(BaseModel):
    kind: ReviewerKind = Field(
        description="system: the service itself, when a flag's facts changed"
    )
    id: str
    name: str | None = Field(None, description="A person's display name (users only)")


class Review(BaseModel):
    at: datetime
    by: Reviewer
    action: ReviewAction | SystemAction
    outcome: ReviewOutcome | None
    note: str | None
    flag_version: int = Field(description="The FHIR Flag's version after this review")


class Service(BaseModel):
    system: str | None
    code: str | None
    display: str | None


class Outcome(BaseModel):
    system: str
    code: str


class EventFields(BaseModel):
    at: datetime
    resource: str = Field(description='The outcome as sent ("Appointment/id")')
    patient_id: str = Field(description="Whose appointment it was")
    category: str = Field(description="was-not-brought, did-not-attend, attended, ...")
    status: str | None = Field(description="Appointment.status as sent, for an Appointment")
    outcome: Outcome = Field(description="The code this service wrote for the outcome")
    service: Service | None
    organisation: str | None
    organisation_name: str | None = Field(
        default=None,
        description="Its name: from its Organization resource, else the display the source sent",
    )
    source: str | None = Field(description="meta.source of the resource: the sending system")
    age_days: int | None = Field(description="The patient's age in days on the day")
    recorded_at: datetime


class FlagWithReviews(WorklistItem):
    reviews: list[Review] = Field(description="Every review, oldest first")


class FlagDetail(FlagWithReviews):
    evidence_details: list[EventFields]


class FamilyReviewResult(BaseModel):
    family_id: str
    concerns: list[FlagWithReviews] = Field(description="Each chosen child's concern, as asked")
