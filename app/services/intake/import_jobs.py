"""`$import` jobs (FHIR Bulk Data): an NDJSON body kept until the worker imports it through
the same batches as `wnb import`, and what its status URL says. Flushes only."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

import orjson
from sqlalchemy.orm import Session

from app.auth.principal import Principal
from app.fhir.errors import FhirError, operation_outcome
from app.services.intake.bulk_import import BatchOutcome, Refusal
from app.store import import_repo

STALE = timedelta(minutes=5)  # a running job with no batch committed for this long resumes


@dataclass(frozen=True)
class JobStatus:
    status: str  # queued | running | done
    lines: int
    lines_done: int
    created_at: datetime
    output: list[dict[str, object]]
    refused: int


@dataclass(frozen=True)
class Claimed:
    id: str
    client_id: str
    body: bytes


def queue(session: Session, who: Principal, body: bytes, now: datetime) -> str:
    """Keep `body` for the worker; its id names the status URL."""
    if who.kind != "client":
        raise FhirError.one(
            403, "forbidden", "$import writes as a registered source client; sign in as one."
        )
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = body[: exc.start].count(b"\n") + 1
        raise FhirError.one(400, "structure", f"Line {line} is not UTF-8.", "body") from None
    lines = sum(1 for line in text.splitlines() if line.strip())
    if lines == 0:
        raise FhirError.one(400, "required", "The body holds no NDJSON lines.", "body")
    job_id = uuid.uuid4().hex
    import_repo.add_job(
        session,
        {"id": job_id, "client_id": who.id, "status": "queued", "body": text, "lines": lines,
         "created_at": now},
    )
    import_repo.begin(session, job_id, f"$import {job_id}", now)
    return job_id


def status(session: Session, who: Principal, job_id: str) -> JobStatus:
    job = import_repo.job_of(session, job_id)
    if job is None or job.client_id != who.id:  # another client's job is none of its business
        raise FhirError.one(404, "not-found", "No such $import job.")
    progress = import_repo.progress_of(session, job_id)
    done = progress.stored + progress.unchanged + progress.refused if progress else 0
    refused = progress.refused if progress else 0
    output = orjson.loads(job.output) if job.output else []
    return JobStatus(job.status, job.lines, done, job.created_at, output, refused)


def errors(session: Session, who: Principal, job_id: str) -> bytes:
    """The refused lines as NDJSON OperationOutcomes (each issue's location names the line)."""
    status(session, who, job_id)  # the same 404 for a job that is not the caller's
    job = import_repo.job_of(session, job_id)
    return (job.errors or "").encode() if job else b""


def claim(session: Session, now: datetime) -> Claimed | None:
    job = import_repo.claim_job(session, now, now - STALE)
    if job is None:
        return None
    return Claimed(job.id, job.client_id, (job.body or "").encode())


def note_batch(session: Session, job_id: str, outcome: BatchOutcome) -> None:
    """Add a batch's counts and refusals to its job, in the batch's transaction: a job taken
    over by another worker after a crash keeps what the first one reported."""
    job = import_repo.job_of(session, job_id)
    if job is None:
        raise RuntimeError("import job vanished while it ran")
    counts = {o["type"]: o["count"] for o in orjson.loads(job.output or "[]")}
    for t, n in outcome.by_type.items():
        counts[t] = counts.get(t, 0) + n
    output = [{"type": t, "count": n} for t, n in sorted(counts.items())]
    job.output = orjson.dumps(output).decode()
    job.errors = (job.errors or "") + refusals_ndjson(outcome.refused)
    session.flush()


def finish(session: Session, job_id: str, now: datetime) -> None:
    import_repo.finish_job(session, job_id, now)


def fail(session: Session, job_id: str, exc: FhirError, now: datetime) -> None:
    """End a job that cannot run at all (its client revoked): the reason is its error file."""
    job = import_repo.job_of(session, job_id)
    if job is not None:
        job.errors = (job.errors or "") + orjson.dumps(operation_outcome(exc.issues)).decode()
        job.errors += "\n"
    import_repo.finish_job(session, job_id, now)


def refusals_ndjson(refused: list[Refusal]) -> str:
    rows = []
    for r in refused:
        outcome = operation_outcome(r.issues)
        for issue in outcome["issue"]:
            issue["location"] = [f"line {r.line}"]
        rows.append(orjson.dumps(outcome).decode() + "\n")
    return "".join(rows)
