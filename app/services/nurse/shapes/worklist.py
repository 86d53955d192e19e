"""Shapes of the worklist (JSON, not FHIR): one row per family, its children's concerns, and
the matching concerns counted."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from app.services.nurse.shapes.concern import Priority, WorklistItem

Status = Literal["cp-plan", "looked-after", "child-in-need"]


class FamilyStatus(BaseModel):
    child_id: str
    name: str | None = Field(description="The child's name as sent, if known")
    status: Status


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
    priority: Priority = Field(description="Its highest concern's")
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
