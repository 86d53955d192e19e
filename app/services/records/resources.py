"""Create and update of a single resource, as a FHIR client asks for them."""

from __future__ import annotations

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


def create(
    session: Session,
    type_name: str,
    data: dict[str, Any],
    if_none_exist: str | None,
    ctx: WriteContext,
) -> Answer[WriteResult]:
    """POST: a new resource, or a new version of the one already carrying its identifier."""
    validate_structure(data, type_name)
    check_resource(data, ctx.now.date())
    request = WriteRequest(type=type_name, data=data, if_none_exist=if_none_exist)
    check_client_writes(session, [request], ctx.terms)
    return _answer(write_resources(session, [request], ctx)[0])


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
    check_id(rid, f"{type_name}.id")
    validate_structure(data, type_name)
    if data.get("id") != rid:
        raise FhirError.one(
            400,
            "invalid",
            f"The body's id ({data.get('id')!r}) must equal the id in the URL ({rid!r}).",
            f"{type_name}.id",
        )
    check_resource(data, ctx.now.date())
    request = WriteRequest(type=type_name, data=data, id=rid, if_match=if_match)
    check_client_writes(session, [request], ctx.terms)
    results = write_resources(session, [request], ctx)
    check_put_creates([request], results, may, [f"{type_name}.id"])
    return _answer(results[0])


def _answer(result: WriteResult) -> Answer[WriteResult]:
    """The write's result; its audit record names the resource and the patient it is about."""
    return Answer(result, references_of([result]))
