"""FHIR JSON responses."""

from __future__ import annotations

from datetime import datetime
from email.utils import format_datetime

import orjson
from fastapi.responses import Response

from app.fhir.errors import operation_outcome
from app.services.common.writes import WriteResult

FHIR_JSON = "application/fhir+json"


class FhirResponse(Response):
    media_type = FHIR_JSON


def resource_response(
    content: str | bytes,
    type_name: str,
    rid: str,
    version: int,
    last_updated: datetime,
    status: int = 200,
    base: str = "",
) -> FhirResponse:
    headers = {
        "ETag": f'W/"{version}"',
        "Last-Modified": format_datetime(last_updated, usegmt=True),
    }
    if status == 201 or base:
        headers["Location"] = f"{base}/{type_name}/{rid}/_history/{version}"
    return FhirResponse(content, status_code=status, headers=headers)


def write_response(result: WriteResult, base: str, show_match: bool = True) -> FhirResponse:
    """The stored resource; for a conditional create that found a match the caller may not
    read and search, only its Location and ETag (the body would disclose the match)."""
    content = result.content
    if result.matched and not show_match:
        content = ""
    elif result.warning is not None:
        # The write was kept but did not do what was asked: say so instead of the resource
        # (as FHIR's Prefer: return=OperationOutcome does); the headers name the current one.
        content = orjson.dumps(operation_outcome([result.warning])).decode()
    return resource_response(
        content,
        result.type,
        result.id,
        result.version,
        result.last_updated,
        result.status,
        base,
    )
