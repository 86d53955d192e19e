"""Shapes of the nurse API (JSON, not FHIR): what the worklist, a flag and a review return."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from app.fhir.concern_state import ConcernState
from app.services.nurse.review import ReviewAction, ReviewOutcome
from app.services.nurse.worklist import STATES

# The OpenAPI document lists a concern's states, and the worklist's state filter words, as
# enums of strings: built from `ConcernState` so they cannot drift from it. (mypy cannot read
# a Literal built at run time; to it they are strings.)
if TYPE_CHECKING:
    StateWord = str
    StateFilter = str
else:
    StateWord = Literal[tuple(s.value for s in ConcernState)]
    StateFilter = Literal[tuple(str(k) for k in STATES)]


class ChildSummary(BaseModel):
    id: str = Field(description="Patient id")
    name: str | None = Field(description="The child's official (else first) name")
    birth_date: str | None = Field(description="Patient.birthDate as sent")
    age_days: int | None = Field(description="Age in days today; null when not known")


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
    priority: Literal["high", "medium", "low"]
    summary: str = Field(description="What the rule saw, in words")
    agencies: list[str] = Field(description="The agency types the rule concerns")
    evidence: list[str] = Field(description='The outcomes behind this reason ("Appointment/id")')


class WorklistItem(BaseModel):
    """A child's concern: one per child, its reasons the rules that hold now."""

    flag_id: str
    reasons: list[ConcernReason] = Field(description="Highest priority first")
    priority: Literal["high", "medium", "low"] = Field(description="Its highest reason's")
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


class FamilyStatus(BaseModel):
    child_id: str
    name: str | None = Field(description="The child's name as sent, if known")
    status: Literal["cp-plan", "looked-after", "child-in-need"]


class FamilyCounts(BaseModel):
    children: int = Field(description="Children with a concern in this row")
    concerns: int = Field(description="Concerns in this row (one per child while open)")
    unreviewed: int = Field(description="Concerns new or with changed evidence")


class FamilyLinks(BaseModel):
    family: str = Field(description="The family's chronology")


class WorklistFamily(BaseModel):
    """One worklist row: a family (a child with no family is a family of one) and its
    children's concerns that match the filters."""

    family_id: str
    priority: Literal["high", "medium", "low"] = Field(description="Its highest concern's")
    statuses: list[FamilyStatus] = Field(
        description="Statuses holding now for the family's children (plan, looked after, "
        "in need): such families come first within a priority"
    )
    has_infant: bool = Field(description="A child of the family is under one year old")
    waiting_since: datetime | None = Field(
        description="Since when its longest-waiting unreviewed concern has waited"
    )
    counts: FamilyCounts
    concerns: list[WorklistItem] = Field(description="Each child's concern, in the page's sort")
    links: FamilyLinks


class Counts(BaseModel):
    families: int = Field(description="Families with a matching concern (= total)")
    concerns: int = Field(description="Matching concerns")
    by_priority: dict[str, int] = Field(description="Matching concerns by priority")
    by_rule: dict[str, int] = Field(description="Matching concerns by reason (rule)")


class WorklistPage(BaseModel):
    total: int = Field(description="Families with a matching concern, across all pages")
    counts: Counts = Field(description="The matching concerns counted")
    items: list[WorklistFamily] = Field(description="One row per family")
    next: str | None = Field(description="The next page, or null on the last")


class Reviewer(BaseModel):
    kind: Literal["client", "user", "system"] = Field(
        description="system: the service itself, when a flag's facts changed"
    )
    id: str
    name: str | None = Field(None, description="A person's display name (users only)")


# What the service itself records when the facts under a flag change.
SystemAction = Literal["withdraw", "evidence-changed", "reopen", "deceased"]


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


class ReviewRequest(BaseModel):
    """One review of a flag. `outcome` goes with action outcome or close (close needs one
    unless an earlier review recorded it); `note` is required for action note, for
    outcome other, and to close a high-priority concern."""

    model_config = ConfigDict(extra="forbid")

    action: ReviewAction
    outcome: ReviewOutcome | None = None
    note: str | None = Field(default=None, max_length=4000, pattern=r"^[^\x00]*$")


class FamilyReviewRequest(BaseModel):
    """One review applied to the open concern of each chosen child of a family, all or none.
    The rules of a single review hold for each concern; closing a high-priority concern
    needs an outcome and a note."""

    model_config = ConfigDict(extra="forbid")

    children: list[Annotated[str, Field(pattern=r"^[A-Za-z0-9\-.]{1,64}$")]] = Field(
        min_length=1, max_length=50, description="Patient ids: whose concern to review"
    )
    action: Literal["acknowledge", "note", "outcome", "close"]
    outcome: ReviewOutcome | None = None
    note: str | None = Field(default=None, max_length=4000, pattern=r"^[^\x00]*$")


class FamilyReviewResult(BaseModel):
    family_id: str
    concerns: list[FlagWithReviews] = Field(description="Each chosen child's concern, as asked")
