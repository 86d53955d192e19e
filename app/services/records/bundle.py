"""transaction (all or nothing) and batch (each entry on its own) Bundles."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

import orjson
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.fhir.bundle_envelope import BUNDLE, ENTRY, REQUEST, check_known
from app.fhir.checks import check_resource
from app.fhir.dates import fhir_instant
from app.fhir.errors import FhirError, operation_outcome
from app.fhir.etag import parse_etag
from app.fhir.ids import check_id
from app.fhir.parse import WRITABLE_TYPES, validate_structure
from app.fhir.references import split_local
from app.services.common.answer import Answer, references_of
from app.services.common.writes import WriteContext, WriteRequest, WriteResult
from app.services.records.ingest import write_resources
from app.services.records.write_guard import check_client_writes, check_put_creates

MAX_ENTRIES = 5000


Permit = Callable[[str, str], bool]  # (resource type, interaction) -> allowed


def process_bundle(
    session: Session, bundle: dict[str, Any], ctx: WriteContext, may: Permit
) -> Answer[bytes]:
    """Carry out a transaction or batch Bundle; the response Bundle as JSON bytes.
    `may` says which entries the caller's scopes allow (403 for the others)."""
    kind = bundle.get("type")
    if bundle.get("resourceType") != "Bundle" or kind not in ("transaction", "batch"):
        raise FhirError.one(
            400, "invalid", "POST /fhir takes a Bundle of type transaction or batch.", "Bundle.type"
        )
    check_known(bundle, BUNDLE, "Bundle", "a Bundle")
    entries = bundle.get("entry", [])
    if not isinstance(entries, list) or len(entries) > MAX_ENTRIES:
        raise FhirError.one(
            400 if not isinstance(entries, list) else 413,
            "too-costly",
            f"Bundle.entry must be a list of at most {MAX_ENTRIES} entries.",
            "Bundle.entry",
        )
    if kind == "transaction":
        return _transaction(session, entries, ctx, may)
    return _batch(session, entries, ctx, may)


def _transaction(
    session: Session, entries: list[Any], ctx: WriteContext, may: Permit
) -> Answer[bytes]:
    requests, failures = [], []
    for i, entry in enumerate(entries):
        try:
            requests.append(entry_request(entry, i, ctx.now.date(), may))
        except FhirError as exc:
            failures.append(exc)
    if failures:
        # Report every bad entry at once, with the status of the first.
        raise FhirError(failures[0].status, [i for f in failures for i in f.issues][:50])
    check_client_writes(session, requests, ctx.terms)
    results = write_resources(session, requests, ctx)
    check_put_creates(requests, results, may, [f"{r.where}.id" for r in requests])
    body = _response("transaction-response", [_entry(r, may) for r in results])
    return Answer(body, references_of(results))


def _batch(
    session: Session, entries: list[Any], ctx: WriteContext, may: Permit
) -> Answer[bytes]:
    out, written, refusals = [], [], []
    for i, entry in enumerate(entries):
        try:
            request = entry_request(entry, i, ctx.now.date(), may)
            result = write_one(session, request, ctx, may)
            out.append(_entry(result, may))
            written.append(result)
        except FhirError as exc:
            out.append(_failed(exc))
            if exc.status == 403:
                refusals.append(exc)
    return Answer(_response("batch-response", out), references_of(written), refusals)


def write_one(
    session: Session, request: WriteRequest, ctx: WriteContext, may: Permit
) -> WriteResult:
    snapshot = orjson.dumps(request.data)
    for attempt in range(3):
        try:
            with session.begin_nested():  # a refusal below rolls back this entry alone
                check_client_writes(session, [request], ctx.terms)
                results = write_resources(session, [request], ctx)
                check_put_creates([request], results, may, [f"{request.where}.id"])
                return results[0]
        except IntegrityError:
            # Another request stored the same identifier at the same time: retrying finds it.
            if attempt == 2:
                raise
            request.data = orjson.loads(snapshot)
    raise AssertionError("unreachable")


def entry_request(entry: Any, i: int, today: date, may: Permit) -> WriteRequest:
    """A validated WriteRequest for Bundle.entry[i]; FhirError with entry-relative paths."""
    where = f"Bundle.entry[{i}]"
    if not isinstance(entry, dict):
        raise FhirError.one(400, "structure", "An entry must be an object.", where)
    check_known(entry, ENTRY, where, "a Bundle entry")
    request = entry.get("request")
    if not isinstance(request, dict):
        raise FhirError.one(
            400, "structure", "entry.request must be an object with method and url.",
            f"{where}.request",
        )
    check_known(request, REQUEST, f"{where}.request", "a Bundle entry's request")
    method = request.get("method")
    url = _text(request, "url", where) or ""
    if_match, if_none_exist = _text(request, "ifMatch", where), _text(request, "ifNoneExist", where)
    full_url = _text(entry, "fullUrl", where, f"{where}.fullUrl")
    resource = entry.get("resource")
    if method not in ("POST", "PUT"):
        raise FhirError.one(
            400,
            "not-supported",
            "Only POST and PUT entries are supported.",
            f"{where}.request.method",
        )
    if not isinstance(resource, dict):
        raise FhirError.one(400, "required", "The entry has no resource.", f"{where}.resource")
    type_name, rid = url.split("?")[0], None
    if method == "PUT":
        local = split_local(url)
        if local is None:
            raise FhirError.one(
                400, "invalid", "A PUT entry's url must be Type/id.", f"{where}.request.url"
            )
        type_name, rid = local
        check_id(rid, f"{where}.request.url")
    if type_name not in WRITABLE_TYPES:
        raise FhirError.one(
            400,
            "not-supported",
            f"{type_name!r} cannot be written here; supported: {', '.join(WRITABLE_TYPES)}.",
            f"{where}.request.url",
        )
    interaction = "update" if method == "PUT" else "create"
    if not may(type_name, interaction):
        raise FhirError.one(
            403,
            "forbidden",
            f"Your scopes do not allow {interaction} of {type_name}.",
            f"{where}.request.url",
        )
    try:
        validate_structure(resource, type_name)
        check_resource(resource, today)
        if rid is not None and resource.get("id") not in (None, rid):
            raise FhirError.one(
                400, "invalid", "resource.id differs from the id in request.url.", "id"
            )
    except FhirError as exc:
        raise exc.at(f"{where}.resource") from None
    return WriteRequest(
        type=type_name,
        data=resource,
        id=rid,
        if_none_exist=if_none_exist,
        if_match=parse_etag(if_match, f"{where}.request.ifMatch") if if_match else None,
        full_url=full_url,
        where=f"{where}.resource",
    )


def _text(
    holder: dict[str, Any], key: str, where: str, expression: str | None = None
) -> str | None:
    """holder[key] when it is a string (or absent); 400 naming it when it is anything else."""
    value = holder.get(key)
    if value is None or isinstance(value, str):
        return value
    raise FhirError.one(
        400,
        "structure",
        f"{key} must be a string, not {type(value).__name__}.",
        expression or f"{where}.request.{key}",
    )


def may_see_match(may: Permit, type_name: str) -> bool:
    """Whether a conditional create's match may be shown: only to a caller who could have
    found it by reading and searching."""
    return may(type_name, "read") and may(type_name, "search")


def _entry(r: WriteResult, may: Permit) -> bytes:
    status = "201 Created" if r.status == 201 else "200 OK"
    response: dict[str, object] = {
        "status": status,
        "location": f"{r.type}/{r.id}/_history/{r.version}",
        "etag": f'W/"{r.version}"',
        "lastModified": fhir_instant(r.last_updated),
    }
    if r.matched and not may_see_match(may, r.type):
        return b'{"response":' + orjson.dumps(response) + b"}"
    if r.warning is not None:
        response["outcome"] = operation_outcome([r.warning])
    return b'{"resource":' + r.content.encode() + b',"response":' + orjson.dumps(response) + b"}"


def _failed(exc: FhirError) -> bytes:
    return orjson.dumps(
        {"response": {"status": str(exc.status), "outcome": operation_outcome(exc.issues)}}
    )


def _response(kind: str, entries: list[bytes]) -> bytes:
    head = orjson.dumps({"resourceType": "Bundle", "type": kind})
    return head[:-1] + b',"entry":[' + b",".join(entries) + b"]}"
