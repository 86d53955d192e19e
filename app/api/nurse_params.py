"""Reading the nurse API's input: worklist query parameters, ids in paths, a review body.
Anything unexpected is a 400 naming the parameter, never silently ignored. (What the API
answers with is declared once, by the use cases: `app/services/nurse/shapes/`.)"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Literal, TypeVar

from fastapi import Path, Query, Request
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from app.fhir.errors import FhirError, Issue
from app.fhir.parse import load_json
from app.services.nurse.review import ReviewInput
from app.services.nurse.shapes.concern import ReviewAction, ReviewOutcome
from app.services.nurse.worklist import STATES, WorklistQuery

# The worklist's state filter words, an enum of strings in the OpenAPI document, built from
# `STATES` so they cannot drift from it. (mypy cannot read a Literal built at run time.)
if TYPE_CHECKING:
    StateFilter = str
else:
    StateFilter = Literal[tuple(str(k) for k in STATES)]

M = TypeVar("M", bound=BaseModel)
NO_NUL = r"^[^\x00]*$"
Id = Annotated[str, Path(pattern=r"^[A-Za-z0-9\-.]{1,64}$", description="A FHIR id")]
Text = Annotated[str | None, Query(max_length=255, pattern=NO_NUL)]
WORKLIST_PARAMS = frozenset(
    {"rule", "priority", "age_band", "min_age_days", "max_age_days", "organisation", "area"}
    | {"opened_from", "opened_to", "state", "sort", "owner", "_count", "_offset"}
)


def worklist_query(
    request: Request,
    rule: Annotated[Text, Query(description="Rule id; several comma-separated")] = None,
    priority: Annotated[Text, Query(description="high, medium, low; comma-separated")] = None,
    age_band: Annotated[
        Literal["0-1", "1-5", "5-11", "11-18", "18+"] | None,
        Query(
            description="The child's age today in completed years, e.g. 1-5 = 1 to 4; 18+ = "
            "18 or older (open flags outlive the 18th birthday)"
        ),
    ] = None,
    min_age_days: Annotated[int | None, Query(ge=0, le=40000)] = None,
    max_age_days: Annotated[int | None, Query(ge=0, le=40000)] = None,
    organisation: Annotated[
        Text, Query(description="Organisation (code) of the concern's latest evidence")
    ] = None,
    area: Annotated[
        Text,
        Query(
            description="An area (organisation code) the concern is in, matched as agencies "
            "are: the child's GP practice or managing organisation, or a booking organisation "
            "of its evidence"
        ),
    ] = None,
    opened_from: Annotated[Text, Query(description="Opened on or after (date/dateTime)")] = None,
    opened_to: Annotated[Text, Query(description="Opened on or before (date/dateTime)")] = None,
    state: Annotated[
        StateFilter,
        Query(
            description="all = every flag not yet closed; evidence-changed = reviewed, then "
            "its evidence changed; withdrawn = closed by the service when its rule stopped "
            "holding before anyone reviewed it"
        ),
    ] = "all",
    sort: Annotated[
        Literal["-priority", "priority", "opened", "-opened", "last_event", "-last_event"],
        Query(description="-priority: high first, then the longest waiting"),
    ] = "-priority",
    owner: Annotated[
        Text,
        Query(description="Case owner: a username, `me`, or `unassigned` (nobody owns it)"),
    ] = None,
    count: Annotated[int, Query(alias="_count", ge=0, le=100, description="0: counts only")] = 20,
    offset: Annotated[int, Query(alias="_offset", ge=0, le=1_000_000)] = 0,
) -> WorklistQuery:
    unknown = sorted(set(request.query_params) - WORKLIST_PARAMS)
    if unknown:
        raise FhirError.one(
            400,
            "not-supported",
            f"Unknown worklist parameter {unknown[0]!r}; supported: "
            f"{', '.join(sorted(WORKLIST_PARAMS))}.",
            unknown[0],
        )
    return WorklistQuery(
        rule=rule,
        priority=priority,
        age_band=age_band,
        min_age_days=min_age_days,
        max_age_days=max_age_days,
        organisation=organisation,
        area=area,
        opened_from=opened_from,
        opened_to=opened_to,
        state=state,
        sort=sort,
        owner=owner,
        count=count,
        offset=offset,
    )


class ReviewRequest(BaseModel):
    """One review of a flag. `outcome` goes with action outcome or close (close needs one
    unless an earlier review recorded it); `note` is required for action note, for
    outcome other, and to close a high-priority concern."""

    model_config = ConfigDict(extra="forbid")

    action: ReviewAction
    outcome: ReviewOutcome | None = None
    note: str | None = Field(default=None, max_length=4000, pattern=NO_NUL)


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
    note: str | None = Field(default=None, max_length=4000, pattern=NO_NUL)


def json_body(model: type[M], raw: bytes) -> M:
    """A JSON request body as `model`, or 400 with an expression for each thing wrong."""
    try:
        return model.model_validate(load_json(raw))
    except ValidationError as exc:
        issues = [
            Issue("invalid", e["msg"], ".".join(["body", *(str(p) for p in e["loc"])]))
            for e in exc.errors()
        ]
        raise FhirError(400, issues) from None


def review_input(raw: bytes) -> ReviewInput:
    """The review body, or 400 with an expression for each thing wrong with it."""
    body = json_body(ReviewRequest, raw)
    return ReviewInput(action=body.action, outcome=body.outcome, note=body.note)


def family_review_input(raw: bytes) -> tuple[list[str], ReviewInput]:
    """The family review body: the children whose concern to review, and the review."""
    body = json_body(FamilyReviewRequest, raw)
    return body.children, ReviewInput(action=body.action, outcome=body.outcome, note=body.note)
