"""Create and update of a single resource, as a FHIR client asks for them."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from app.fhir.checks import check_resource
from app.fhir.errors import FhirError
from app.fhir.ids import check_id
from app.fhir.parse import validate_structure
from app.services.common.answer import Answer, references_of
from app.services.common.writes import WriteContext, WriteRequest, WriteResult
from app.services.records.ingest import write_resources
from app.services.records.write_guard import Permit, check_client_writes, check_put_creates


@dataclass(frozen=True)
class Checked:
    """A body that has passed every check needing no database: its structure, its values,
    and for an update, its id against the URL's. Made only by `check_create` and
    `check_update`, so a write cannot skip them."""

    type: str
    data: dict[str, Any]
    id: str | None = None


def check_create(type_name: str, data: dict[str, Any], now: datetime) -> Checked:
    validate_structure(data, type_name)
    check_resource(data, now.date())
    return Checked(type_name, data)


def check_update(type_name: str, rid: str, data: dict[str, Any], now: datetime) -> Checked:
    check_id(rid, f"{type_name}.id")
    validate_structure(data, type_name)
    if data.get("id") != rid:
        raise FhirError.one(
            400,
            "invalid",
            f"The body's id ({data.get('id')!r}) must equal the id in the URL ({rid!r}).",
            f"{type_name}.id",
        )
    check_resource(data, now.date())
    return Checked(type_name, data, rid)


def create(
    session: Session,
    type_name: str,
    data: dict[str, Any],
    if_none_exist: str | None,
    ctx: WriteContext,
) -> Answer[WriteResult]:
    """POST: a new resource, or a new version of the one already carrying its identifier."""
    return create_checked(session, check_create(type_name, data, ctx.now), if_none_exist, ctx)


def create_checked(
    session: Session, checked: Checked, if_none_exist: str | None, ctx: WriteContext
) -> Answer[WriteResult]:
    """`create` of a body already checked (`check_create`)."""
    request = WriteRequest(type=checked.type, data=checked.data, if_none_exist=if_none_exist)
    check_client_writes(session, [request], ctx.terms)
    return answer_of(write_resources(session, [request], ctx)[0])


def update(
    session: Session,
    type_name: str,
    rid: str,
    data: dict[str, Any],
    if_match: int | None,
    ctx: WriteContext,
    may: Permit,
) -> Answer[WriteResult]:
    """PUT: a new version of Type/id, or the resource created with that id (which needs the
    caller's create scope as well as update)."""
    return update_checked(session, check_update(type_name, rid, data, ctx.now), if_match, ctx, may)


def update_checked(
    session: Session, checked: Checked, if_match: int | None, ctx: WriteContext, may: Permit
) -> Answer[WriteResult]:
    """`update` of a body already checked (`check_update`)."""
    assert checked.id is not None, "an update's body is checked by check_update"
    request = WriteRequest(type=checked.type, data=checked.data, id=checked.id, if_match=if_match)
    check_client_writes(session, [request], ctx.terms)
    results = write_resources(session, [request], ctx)
    check_put_creates([request], results, may, [f"{checked.type}.id"])
    return answer_of(results[0])


@dataclass(frozen=True)
class ClientWrite:
    """One client's POST (`checked.id` None) or PUT of a checked body, as a group commit
    runs it: alone, called with its context for the use case; or in one pass with the
    other writes of its group (`app/services/records/together.py`)."""

    checked: Checked
    if_none_exist: str | None = None
    if_match: int | None = None
    may: Permit | None = None  # a PUT's caller's scopes: may it create

    def __call__(self, ctx: WriteContext) -> Callable[[Session], Answer[WriteResult]]:
        if self.checked.id is None:
            return lambda s: create_checked(s, self.checked, self.if_none_exist, ctx)
        may = self.may
        assert may is not None, "a PUT is made with its caller's scopes"
        return lambda s: update_checked(s, self.checked, self.if_match, ctx, may)

    def request(self, author: tuple[str, str] | None) -> WriteRequest:
        c = self.checked
        return WriteRequest(
            type=c.type,
            data=c.data,
            id=c.id,
            if_none_exist=self.if_none_exist,
            if_match=self.if_match,
            author=author,
        )


def answer_of(result: WriteResult) -> Answer[WriteResult]:
    """The write's result; its audit record names the resource and the patient it is about."""
    return Answer(result, references_of([result]))
