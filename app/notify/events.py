"""What flag evaluation tells the notifier: one change of one raised flag."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

FLAG_EVENT_KINDS = ("raised", "evidence-changed", "withdrawn", "closed", "reopened", "updated")


@dataclass(frozen=True)
class FlagEvent:
    """One change of a raised flag, as written in the transaction that made it.

    `agencies` are the agency types the rule names (the rule file's `agencies`); `areas` the
    organisation codes the flag concerns (the child's GP or managing organisation, the
    evidence's booking organisations). Together they decide which agencies are told."""

    kind: str  # one of FLAG_EVENT_KINDS
    flag_id: str
    flag_version: int
    rule_id: str
    priority: str
    child_id: str
    family_id: str
    agencies: tuple[str, ...]
    areas: tuple[str, ...]
    at: datetime
