"""FHIR Bulk Data `$import`: NDJSON bodies are queued and answered 202 with a status URL; the
worker imports them through the same batches as `wnb import` (the REST API's write path,
reconciliation deferred); the status URL answers 202 with `X-Progress` until the job is done,
then 200 with the manifest (counts per type, and the refused lines as OperationOutcomes)."""

from __future__ import annotations

from datetime import UTC

import orjson
from fastapi import APIRouter, Request, Response
from starlette.concurrency import run_in_threadpool

from app.api.audited import audited
from app.api.body import NDJSON_TYPES, read_json
from app.api.openapi_docs import fhir_responses
from app.api.responses import FhirResponse
from app.api.state import PrincipalDep, StateDep
from app.fhir.dates import fhir_instant
from app.fhir.errors import FhirError
from app.fhir.parse import WRITABLE_TYPES
from app.services.access.audit import AuditNote
from app.services.common.answer import Answer
from app.services.intake import import_jobs

router = APIRouter(prefix="/fhir", default_response_class=FhirResponse)
STATUS_PATH = "$import-poll-status"


@router.post(
    "/$import",
    tags=["FHIR"],
    summary="Bulk Data import of an NDJSON body (application/fhir+ndjson)",
    status_code=202,
    responses=fhir_responses(202, 400, 401, 403, 413, 415, 429),
)
async def bulk_import(request: Request, state: StateDep, who: PrincipalDep) -> Response:
    note = AuditNote("create", "Bundle", query="$import")
    if not any(who.may(t, "create") for t in WRITABLE_TYPES):
        exc = FhirError.one(403, "forbidden", "Your scopes allow no create: $import writes.")
        await run_in_threadpool(state.refused, who, note, exc)
        raise exc
    try:
        raw = await read_json(request, state.settings.max_body_bytes, NDJSON_TYPES)
    except FhirError as exc:
        await run_in_threadpool(state.refused, who, note, exc)
        raise
    now = state.clock()
    job_id = await audited(
        state, who, note, (), lambda s: Answer(import_jobs.queue(s, who, raw, now))
    )
    location = f"{state.fhir_base}/{STATUS_PATH}/{job_id}"
    return Response(status_code=202, headers={"Content-Location": location})


@router.get(
    f"/{STATUS_PATH}/{{job_id}}",
    tags=["FHIR"],
    summary="Status of a $import job: 202 with X-Progress, then 200 with the manifest",
    responses=fhir_responses(200, 202, 401, 404, 429),
)
async def import_status(job_id: str, state: StateDep, who: PrincipalDep) -> Response:
    job = await run_in_threadpool(state.read, lambda s: import_jobs.status(s, who, job_id))
    if job.status != "done":
        return Response(
            status_code=202,
            headers={
                "X-Progress": f"{job.status}: {job.lines_done} of {job.lines} lines",
                "Retry-After": "2",
            },
        )
    base = state.fhir_base
    errors = f"{base}/{STATUS_PATH}/{job_id}/errors"
    manifest = {
        "transactionTime": fhir_instant(job.created_at.astimezone(UTC)),
        "request": f"{base}/$import",
        "requiresAccessToken": True,
        "output": job.output,
        "error": [{"type": "OperationOutcome", "url": errors, "count": job.refused}]
        if job.refused
        else [],
    }
    return Response(orjson.dumps(manifest), media_type="application/json")


@router.get(
    f"/{STATUS_PATH}/{{job_id}}/errors",
    tags=["FHIR"],
    summary="The refused lines of a $import job: NDJSON OperationOutcomes",
    responses=fhir_responses(200, 401, 404, 429),
)
async def import_errors(job_id: str, state: StateDep, who: PrincipalDep) -> Response:
    # Diagnostics may quote what a line said: reading them is recorded like any read.
    note = AuditNote("read", "OperationOutcome", query=f"{STATUS_PATH}/{job_id}/errors")
    body = await audited(
        state, who, note, (), lambda s: Answer(import_jobs.errors(s, who, job_id))
    )
    return Response(body, media_type="application/fhir+ndjson")
