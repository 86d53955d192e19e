"""A version's weak ETag, as HTTP's If-Match and a Bundle entry's ifMatch carry it."""

from __future__ import annotations

from app.fhir.errors import FhirError
from app.fhir.numbers import whole_number


def parse_etag(value: str, where: str = "If-Match") -> int:
    """The version number in `W/"3"` (or a bare `3`); 400 naming `where` otherwise."""
    version = whole_number(value.removeprefix("W/").strip('"'))
    if version is None:
        raise FhirError.one(400, "invalid", 'If-Match must look like W/"3".', where)
    return version
