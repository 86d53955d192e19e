"""What a write asks for and what it got."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from app.fhir.coding import Outcome
from app.fhir.errors import Issue
from app.fhir.terminology import Terminology
from app.rules import RuleSet


@dataclass
class WriteRequest:
    """One create (id None) or update (PUT id) of an already validated resource."""

    type: str
    data: dict[str, Any]
    id: str | None = None
    if_none_exist: str | None = None
    if_match: int | None = None
    full_url: str | None = None
    where: str = ""  # FHIRPath prefix of this resource in the request, for error expressions
    # (client|user, id) stamped on this version, where it is not the context's: the writes
    # of several clients stored in one pass (group commit).
    author: tuple[str, str] | None = None


@dataclass
class WriteResult:
    status: int  # 201 created; 200 updated, unchanged or found by If-None-Exist
    type: str
    id: str
    version: int
    last_updated: datetime
    content: str
    patient_id: str | None = None
    # Said to the client beside the resource (e.g. a stale version kept in history only).
    warning: Issue | None = None
    matched: bool = False  # found by If-None-Exist: the stored resource, not the one sent
    unchanged: bool = False  # the stored version already said this: nothing was written


@dataclass(frozen=True)
class WriteContext:
    """What one request's writes share, built once per request (its author included) and
    used unchanged by the use case and by the reconciliation before its commit."""

    terms: Terminology
    now: datetime
    rules: RuleSet | None = None  # None: store and code, raise nothing
    author: tuple[str, str] | None = None  # (client|user, id) of a FHIR client's write
    family_alert_size: int | None = None  # larger families' family rules held (None: never)
    future_miss_tolerance: timedelta = timedelta(minutes=5)  # the sender's clock may run ahead


@dataclass(eq=False)  # compared by identity: field-by-field equality is never wanted here
class Planned:
    """A request once its target, id and version are decided."""

    request: WriteRequest
    index: int  # position in the caller's list
    id: str = ""
    version: int = 1
    existing_pk: int | None = None
    result: WriteResult | None = None  # set when nothing needs writing
    content: str = ""
    identity: list[tuple[str, str, str, str]] = field(default_factory=list)
    outcomes: list[Outcome] = field(default_factory=list)  # one per Patient of the resource
    keep_events: bool = False  # the stored coded miss stands (a stale booked re-send)
    # A version older (by the source's meta.lastUpdated) than the stored one: kept in history
    # only; the stored content stays current, re-stamped as the version after it.
    stale_of: dict[str, Any] | None = None
    current_content: str = ""
