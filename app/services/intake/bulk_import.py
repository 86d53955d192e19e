"""One batch of NDJSON lines stored through the same write path as the FHIR REST API: each
line is checked as a POST (no id) or a PUT (with its id) would be, the batch is written as
one unit when every line passes, and a refused line never stops its neighbours. Flushes
only; the edge (`wnb import`) commits each batch with the file's progress."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

import orjson
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.auth.principal import Principal
from app.auth.scopes import parse_scopes
from app.fhir.checks import check_resource
from app.fhir.errors import FhirError, Issue
from app.fhir.ids import check_id
from app.fhir.parse import WRITABLE_TYPES, load_json, validate_structure
from app.services.access import audit
from app.services.access.audit import AuditNote
from app.services.common.answer import references_of
from app.services.common.unit_of_work import defer_reconcile
from app.services.common.writes import WriteContext, WriteRequest, WriteResult
from app.services.records.bundle import write_one
from app.services.records.ingest import TYPE_ORDER, write_resources
from app.services.records.write_guard import check_client_writes, check_put_creates
from app.store import auth_repo, import_repo


@dataclass(frozen=True)
class Line:
    number: int  # 1-based, as an editor shows it
    text: bytes


@dataclass(frozen=True)
class Refusal:
    line: int
    status: int
    issues: list[Issue]


@dataclass
class BatchOutcome:
    stored: int = 0
    unchanged: int = 0
    refused: list[Refusal] = field(default_factory=list)
    by_type: dict[str, int] = field(default_factory=dict)  # stored or unchanged, per type


@dataclass(frozen=True)
class Position:
    """Where the batch ends in its file: recorded with the batch, so a resume starts after."""

    file_key: str
    lines_done: int
    finished: bool


def import_batch(
    session: Session, lines: list[Line], ctx: WriteContext, who: Principal, at: Position
) -> BatchOutcome:
    # A backfill touches thousands of families: judging each inline would cost more than
    # storing them. The families are marked in this transaction; the worker drains the marks.
    defer_reconcile(session)
    outcome = BatchOutcome()
    checked: list[tuple[Line, str]] = []
    for line in lines:
        try:
            checked.append((line, _request(line, ctx, who).type))
        except FhirError as exc:
            _refuse(outcome, line, exc)
    # Targets first, as in a Bundle: a batch split in halves keeps them before their users.
    checked.sort(key=lambda pair: (TYPE_ORDER.get(pair[1], 2), pair[0].number))
    written: list[WriteResult] = []
    for line, result in _store(session, checked, ctx, who):
        if isinstance(result, FhirError):
            _refuse(outcome, line, result)
            continue
        written.append(result)
        outcome.by_type[result.type] = outcome.by_type.get(result.type, 0) + 1
        if result.unchanged:
            outcome.unchanged += 1
        else:
            outcome.stored += 1
    counts = (outcome.stored, outcome.unchanged, len(outcome.refused))
    import_repo.advance(session, at.file_key, at.lines_done, counts, ctx.now, at.finished)
    if not lines:
        return outcome  # the file's end: its progress only
    note = AuditNote("create", "Bundle", query=f"import lines {_span(lines)}")
    note.references = references_of(written)
    audit.record(session, who, note, ctx.now)
    if outcome.refused:
        # Counts only: a reason may quote the line's content.
        said = f"{len(outcome.refused)} line(s) refused"
        refused = AuditNote("create", "Bundle", query=note.query)
        audit.record(session, who, refused, ctx.now, "minor", said)
    return outcome


def _store(
    session: Session, checked: list[tuple[Line, str]], ctx: WriteContext, who: Principal
) -> list[tuple[Line, WriteResult | FhirError]]:
    """Write the checked lines as one unit; when one is refused, each half again, down to
    the line that is. A batch with no bad line costs one write, one with k bad lines about
    k log n."""
    if not checked:
        return []
    lines = [line for line, _ in checked]
    # Decoded afresh (checked already): a write rewrites its request's references.
    requests = [_checked_request(line, type_name) for line, type_name in checked]
    if len(lines) == 1:
        try:
            return [(lines[0], write_one(session, requests[0], ctx, who.may))]
        except FhirError as exc:
            if exc.status >= 500:
                raise
            return [(lines[0], exc)]
    try:
        with session.begin_nested():
            check_client_writes(session, requests, ctx.terms)
            results = write_resources(session, requests, ctx)
            check_put_creates(requests, results, who.may, [f"{r.type}.id" for r in requests])
        return list(zip(lines, results, strict=True))
    except FhirError as exc:
        if exc.status >= 500:
            raise
    except IntegrityError:
        pass  # a concurrent writer stored one of these identifiers: the halves find it
    half = len(checked) // 2
    return _store(session, checked[:half], ctx, who) + _store(session, checked[half:], ctx, who)


def _request(line: Line, ctx: WriteContext, who: Principal) -> WriteRequest:
    """The line as the REST API would take it: POST Type without an id, PUT Type/id with one;
    the same checks, and the same OperationOutcome when refused."""
    data = load_json(line.text)
    type_name = data.get("resourceType")
    if type_name not in WRITABLE_TYPES:
        raise FhirError.one(
            400,
            "not-supported",
            f"{type_name!r} cannot be written here; supported: {', '.join(WRITABLE_TYPES)}.",
            "resourceType",
        )
    rid = data.get("id")
    interaction = "create" if rid is None else "update"
    if not who.may(type_name, interaction):
        raise FhirError.one(
            403, "forbidden", f"Your scopes do not allow {interaction} of {type_name}."
        )
    if rid is not None:
        check_id(rid, f"{type_name}.id")
    validate_structure(data, type_name)
    check_resource(data, ctx.now.date())
    return WriteRequest(type=type_name, data=data, id=rid)


def _checked_request(line: Line, type_name: str) -> WriteRequest:
    data = orjson.loads(line.text)
    return WriteRequest(type=type_name, data=data, id=data.get("id"))


def _refuse(outcome: BatchOutcome, line: Line, exc: FhirError) -> None:
    outcome.refused.append(Refusal(line.number, exc.status, exc.issues))


def _span(lines: list[Line]) -> str:
    return f"{lines[0].number}-{lines[-1].number}"


def importer(session: Session, client_id: str) -> Principal:
    """The registered client an import writes as: its scopes decide what it may store, and
    every version and AuditEvent names it, as for its REST writes."""
    client = auth_repo.client(session, client_id)
    if client is None or client.revoked_at is not None:
        raise FhirError.one(403, "forbidden", f"No live client {client_id!r}: see `wnb client`.")
    return Principal(
        "client", client.client_id, client.name, client.role, parse_scopes(client.scopes)
    )


def resume_point(session: Session, file_key: str) -> int:
    """The lines of the file already committed by an import that did not finish (0: none)."""
    row = import_repo.progress_of(session, file_key)
    return row.lines_done if row is not None and row.finished_at is None else 0


def begin_file(session: Session, file_key: str, path: str, now: datetime) -> None:
    import_repo.begin(session, file_key, path, now)
