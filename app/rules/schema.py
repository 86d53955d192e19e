"""The rule file schema: what a partnership may write in `rules/*.yaml`.

The language is declarative on purpose: every rule is the same shape (which events count, how
many, over how long, for whom), so a safeguarding admin can read and change it without code.
"""

from __future__ import annotations

import string
from typing import Annotated, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    NonNegativeInt,
    PositiveInt,
    StringConstraints,
    model_validator,
)

from app.fhir.terminology import Category

Priority = Literal["high", "medium", "low"]
Scope = Literal["child", "family"]
CountBy = Literal["events", "services", "children"]
SafeguardingStatus = Literal["cp-plan", "looked-after", "child-in-need"]
Slug = Annotated[str, StringConstraints(pattern=r"^[a-z0-9]+(-[a-z0-9]+)*$", max_length=64)]

# Names a `summary` may use, filled in from the evidence when the rule fires.
SUMMARY_FIELDS = frozenset(
    {"events", "children", "services", "threshold", "window_days", "follow_up_days"}
)
# Only an attended appointment shows the child was seen, so only it ends a "consecutive" run.
RUN_BREAKERS = frozenset({"attended"})


class RuleFieldError(ValueError):
    """A cross-field problem, tagged with the field to name in the error message."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class AgeSpan(_Strict):
    """An age in calendar years, months and days (e.g. {years: 1}, {months: 6, days: 14})."""

    years: NonNegativeInt = 0
    months: NonNegativeInt = 0
    days: NonNegativeInt = 0

    @model_validator(mode="after")
    def _some(self) -> AgeSpan:
        if not (self.years or self.months or self.days):
            raise ValueError("give years, months or days (more than 0)")
        return self


class AgeBand(_Strict):
    """Child's age on the Europe/London date of the event. `under` and `at_least` are ages in
    years/months/days ("under: {years: 1}" = before the first birthday); the older min_/max_
    bounds are inclusive, years being completed calendar years."""

    under: AgeSpan | None = None
    at_least: AgeSpan | None = None
    min_days: NonNegativeInt | None = None
    max_days: NonNegativeInt | None = None
    min_years: NonNegativeInt | None = None
    max_years: NonNegativeInt | None = None

    @model_validator(mode="after")
    def _ordered(self) -> AgeBand:
        for unit in ("days", "years"):
            low, high = getattr(self, f"min_{unit}"), getattr(self, f"max_{unit}")
            if low is not None and high is not None and low > high:
                raise ValueError(f"min_{unit} ({low}) is more than max_{unit} ({high})")
        if all(getattr(self, name) is None for name in type(self).model_fields):
            raise ValueError(
                "give at least one of under, at_least, min_days, max_days, min_years, max_years"
            )
        return self


class FollowUp(_Strict):
    """The missed event counts only if no follow-up came within `within_days` after it."""

    within_days: PositiveInt
    categories: list[Category] = Field(default=["booked", "attended"], min_length=1)
    same_service: bool = True


class Rule(_Strict):
    """One trigger rule. See rules/default.yaml for a commented example of every field."""

    id: Slug
    version: PositiveInt
    enabled: bool = True
    description: str = Field(min_length=10, max_length=500)
    summary: str | None = Field(default=None, min_length=1, max_length=200)
    priority: Priority
    agencies: list[Slug] = Field(min_length=1)
    scope: Scope
    categories: list[Category] = Field(min_length=1)
    count: CountBy = "events"
    threshold: PositiveInt = 1
    window_days: PositiveInt | None = None
    consecutive: bool = False
    age: AgeBand | None = None
    statuses: list[SafeguardingStatus] = []
    no_follow_up: FollowUp | None = None

    @model_validator(mode="after")
    def _coherent(self) -> Rule:
        for name in ("agencies", "categories", "statuses"):
            values = getattr(self, name)
            if len(set(values)) != len(values):
                raise RuleFieldError(name, "lists the same value twice")
        if self.threshold > 1 and self.window_days is None:
            raise RuleFieldError("window_days", "is required when threshold is more than 1")
        if self.count == "children" and self.scope != "family":
            raise RuleFieldError("count", "counting children needs scope: family")
        if self.consecutive and self.scope != "child":
            # A run is one child's sequence of appointments; a family has no single sequence.
            raise RuleFieldError("consecutive", "only applies to scope: child")
        if self.consecutive and RUN_BREAKERS & set(self.categories):
            raise RuleFieldError("consecutive", "attended ends a run, so it cannot be counted")
        if self.summary is not None:
            _check_summary(self.summary)
        return self


def _check_summary(template: str) -> None:
    """Allow only plain `{name}` placeholders from SUMMARY_FIELDS (no attribute or index access)."""
    try:
        parts = list(string.Formatter().parse(template))
    except ValueError as exc:
        raise RuleFieldError("summary", f"is not a valid template ({exc})") from exc
    for _, name, spec, conversion in parts:
        if name is None:
            continue
        if name not in SUMMARY_FIELDS or spec or conversion:
            allowed = ", ".join("{" + f + "}" for f in sorted(SUMMARY_FIELDS))
            raise RuleFieldError("summary", f"unknown placeholder {{{name}}}; use {allowed}")


class RuleFile(_Strict):
    """The top level of a rule file."""

    # Two reports of one miss (same child, service and category; starts this close) are one
    # event listing both sources. Local-policy choice; 60 when no file says.
    same_miss_minutes: PositiveInt | None = Field(default=None, le=24 * 60)
    rules: list[dict[str, object]] = Field(min_length=1)
