"""Reading request bodies: JSON only, never more than the configured limit."""

from __future__ import annotations

from fastapi import Request

from app.fhir.errors import FhirError

JSON_TYPES = ("application/fhir+json", "application/json", "application/json+fhir")
NDJSON_TYPES = ("application/fhir+ndjson", "application/x-ndjson", "application/ndjson")


async def read_json(request: Request, limit: int, types: tuple[str, ...] = JSON_TYPES) -> bytes:
    """The raw body; 415 for a content type not in `types`, 413 past `limit`
    (checked while streaming, so an oversized body is never held whole)."""
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media not in types:
        raise FhirError.one(
            415,
            "not-supported",
            f"Content-Type {media or '(none)'!r} is not supported; send {types[0]}.",
            "Content-Type",
        )
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise _too_large(limit)
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise _too_large(limit)
        chunks.append(chunk)
    # Parsed once, by the route's check (`audited.audited_write`), not here.
    return b"".join(chunks)


def _too_large(limit: int) -> FhirError:
    return FhirError.one(
        413,
        "too-costly",
        f"The body is larger than {limit} bytes; split it into smaller Bundles.",
        "body",
    )
