"""The FHIR id rule: 1 to 64 of A-Z a-z 0-9 - and '.'. Checked here so that SQLite (which
would store any length) and PostgreSQL (whose column is 64 wide) give the same answer."""

from __future__ import annotations

import re

from app.fhir.errors import FhirError

ID_PATTERN = re.compile(r"[A-Za-z0-9\-.]{1,64}")


def is_fhir_id(text: str) -> bool:
    return ID_PATTERN.fullmatch(text) is not None


def check_id(text: str, expression: str) -> None:
    """400 naming `expression` unless `text` is a FHIR id."""
    if not is_fhir_id(text):
        raise FhirError.one(
            400,
            "invalid",
            "An id is 1 to 64 characters of A-Z, a-z, 0-9, '-' and '.'.",
            expression,
        )
