"""One HL7 v2 message received: who sent it, whether it was seen before, what it says as FHIR,
stored through the same write path as a FHIR client's Bundle, and the ACK it gets. Flushes
only; the edge (the MLLP listener) commits."""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass

from hl7.containers import Message
from sqlalchemy.orm import Session

from app.auth.principal import Principal
from app.auth.scopes import Scope, parse_scopes
from app.fhir.checks import check_resource
from app.fhir.errors import FhirError
from app.fhir.parse import validate_structure
from app.hl7.ack import ack
from app.hl7.datatypes import local_system
from app.hl7.errors import (
    DATA_TYPE_ERROR,
    DUPLICATE_KEY,
    REQUIRED_MISSING,
    UNKNOWN_KEY,
    Hl7Error,
)
from app.hl7.header import Header, parse_message, read_header
from app.hl7.origins import origin
from app.hl7.translate import Translation, retarget, translate
from app.services.access import audit
from app.services.access.audit import AuditNote
from app.services.common.writes import WriteContext, WriteRequest, WriteResult
from app.services.intake.hl7_patients import merge_request, stored_patient
from app.services.records.ingest import write_resources
from app.services.records.write_guard import check_client_writes
from app.store import hl7_repo
from app.store.auth_models import ApiClient


@dataclass(frozen=True)
class IntakeOptions:
    processing_ids: frozenset[str]
    audit: bool = True


@dataclass(frozen=True)
class Received:
    ack: str
    code: str  # AA, AE or AR
    repeated: bool = False  # a control id seen before: the stored ACK, nothing written


def receive(session: Session, text: str, ctx: WriteContext, options: IntakeOptions) -> Received:
    """Store what `text` says and answer it. Never raises for anything the sender did."""
    digest = hashlib.sha256(text.encode("utf-8", "replace")).hexdigest()
    msg: Message | None = None
    header: Header | None = None
    try:
        msg = parse_message(text)
        header = read_header(msg, options.processing_ids)
    except Hl7Error as exc:
        return _answer(session, ctx, msg, header, None, text, digest, exc)
    client = hl7_repo.sender_of_facility(session, header.facility)
    if client is None or client.revoked_at is not None:
        refusal = Hl7Error("AR", "MSH", 4, UNKNOWN_KEY, "the sending facility is not registered")
        return _answer(session, ctx, msg, header, None, text, digest, refusal)
    seen = hl7_repo.message_of(session, client.client_id, header.control_id)
    if seen is not None and seen.digest == digest:
        return Received(seen.ack, seen.ack_code, repeated=True)
    if seen is not None and seen.accepted_id is not None:
        # A refused message may come back corrected under its control id; a stored one not.
        reuse = Hl7Error(
            "AR", "MSH", 10, DUPLICATE_KEY, "this control id was already used for another message"
        )
        return Received(ack(msg, "AR", reuse), "AR", repeated=True)
    who = Principal("client", client.client_id, header.facility, "source", _scopes(client))
    note = AuditNote("create", _main_type(header), query=_query(header))
    error: Hl7Error | None = None
    try:
        with session.begin_nested():  # a refusal rolls back this message's writes alone
            results = _store(session, msg, header, _as(ctx, client), who)
        note.references = [f"{r.type}/{r.id}" for r in results]
    except Hl7Error as exc:
        error = exc
    except FhirError as exc:
        if exc.status >= 500:
            raise
        error = _from_fhir(exc, msg)
    if options.audit:
        outcome = "success" if error is None else "minor"
        # The location and code only: the reason may quote the message (refusal_text's rule).
        said = f"{error.ack} at {error.location}: {error.code}" if error else None
        audit.record(session, who, note, ctx.now, outcome, said)
    return _answer(session, ctx, msg, header, client, text, digest, error)


def _store(
    session: Session, msg: Message, header: Header, ctx: WriteContext, who: Principal
) -> list[WriteResult]:
    base = ctx.terms.canonical_base + "/hl7v2"
    urn = f"urn:uuid:{uuid.uuid4()}"
    t = translate(msg, header, urn, base)
    source = local_system(base, "source", header.facility)
    requests: list[WriteRequest] = []
    if header.event == "A40":
        requests.append(merge_request(session, t.patient["identifier"], t.prior))
    else:
        requests += _patient_requests(session, t, urn)
    requests += [_request(c, "RelatedPerson") for c in t.carers]
    if t.appointment is not None:
        requests.append(_request(t.appointment, "Appointment"))
    for r in requests:
        r.data.setdefault("meta", {})["source"] = source
        validate_structure(r.data, r.type)
        check_resource(r.data, ctx.now.date())
        if not who.may(r.type, "create" if r.id is None else "update"):
            raise Hl7Error("AR", "MSH", 4, UNKNOWN_KEY, f"the sender may not write {r.type}")
    check_client_writes(session, requests, ctx.terms)
    return write_resources(session, requests, ctx)


def _patient_requests(session: Session, t: Translation, urn: str) -> list[WriteRequest]:
    """ADT states who the patient is: create or update. An SIU's PID only names the patient
    of the appointment: a stored patient is referred to and left as it is (a PAS's short PID
    must not wipe a birth date a GP system sent); an unknown one is created from it."""
    if not t.demographics:
        stored = stored_patient(session, t.patient["identifier"])
        if stored is not None:
            retarget(t, f"Patient/{stored.id}")
            return []
    return [WriteRequest(type="Patient", data=t.patient, full_url=urn, where="Patient")]


def _request(data: dict[str, object], type_name: str) -> WriteRequest:
    rid = data.pop("id", None)
    return WriteRequest(
        type=type_name, data=data, id=rid if isinstance(rid, str) else None, where=type_name
    )


def _as(ctx: WriteContext, client: ApiClient) -> WriteContext:
    return WriteContext(
        terms=ctx.terms,
        now=ctx.now,
        rules=ctx.rules,
        author=("client", client.client_id),
        family_alert_size=ctx.family_alert_size,
        future_miss_tolerance=ctx.future_miss_tolerance,
    )


def _scopes(client: ApiClient) -> list[Scope]:
    return parse_scopes(client.scopes)


def _from_fhir(exc: FhirError, msg: Message) -> Hl7Error:
    issue = exc.issues[0]
    segment, field = origin(issue.expression, msg)
    code = {"required": REQUIRED_MISSING, "duplicate": DUPLICATE_KEY, "conflict": DUPLICATE_KEY}
    return Hl7Error(
        "AE", segment, field, code.get(issue.code, DATA_TYPE_ERROR), _plain(issue.diagnostics)
    )


def _plain(text: str | None) -> str:
    """The write path's reason, without anything it quoted from the message."""
    return (text or "the message could not be stored").split("\n")[0][:200]


def _main_type(header: Header) -> str:
    return "Appointment" if header.message_type == "SIU" else "Patient"


def _query(header: Header) -> str:
    return f"HL7 {header.message_type}^{header.event} control id {header.control_id}"[:255]


def _answer(
    session: Session,
    ctx: WriteContext,
    msg: Message | None,
    header: Header | None,
    client: ApiClient | None,
    text: str,
    digest: str,
    error: Hl7Error | None,
) -> Received:
    code = "AA" if error is None else error.ack
    reply = ack(msg, code, error)
    hl7_repo.keep(
        session,
        {
            "client_id": client.client_id if client else None,
            "facility": header.facility[:200] if header else None,
            "control_id": header.control_id if header and client else None,
            "accepted_id": header.control_id if header and client and code == "AA" else None,
            "message_type": f"{header.message_type}^{header.event}"[:16] if header else None,
            "received_at": ctx.now,
            "digest": digest,
            # PostgreSQL text cannot hold NUL; the refused message is kept with it spelled out.
            "raw": text.replace("\x00", "\\x00"),
            "ack_code": code,
            "ack": reply,
        },
    )
    return Received(reply, code)
