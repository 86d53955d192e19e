"""What flag evaluation tells the notifier: one change of one raised flag."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class ReasonFacts:
    """What the notifier needs of one reason of a concern: the filters apply to reasons."""

    rule_id: str
    priority: str
    agencies: tuple[str, ...]


@dataclass(frozen=True)
class FlagEvent:
    """One change of a raised concern, as written in the transaction that made it.

    `reasons` are the concern's reasons (for a concern whose reasons are all gone, those it
    had); `agencies` the agency types its reasons name (the rule files' `agencies`); `areas` the
    organisation codes the flag concerns (the child's GP or managing organisation, the
    evidence's booking organisations). Together they decide which agencies are told."""

    # raised | reason-added | evidence-changed | withdrawn | closed | reopened | updated
    kind: str
    flag_id: str
    flag_version: int
    reasons: tuple[ReasonFacts, ...]
    priority: str
    child_id: str
    family_id: str
    agencies: tuple[str, ...]
    areas: tuple[str, ...]
    at: datetime
