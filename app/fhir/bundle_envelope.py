"""The Bundle around the entries, checked as R4B checks it: an element R4B does not know in
the Bundle, in an entry or in an entry's request is refused with its path (the resources
inside are validated one by one, as single writes are). The element names are read from R4B's
own models, so the two cannot drift."""

from __future__ import annotations

from typing import Any

from fhir.resources.R4B.bundle import Bundle, BundleEntry, BundleEntryRequest
from pydantic import BaseModel

from app.fhir.errors import FhirError


def _names(model: type[BaseModel]) -> frozenset[str]:
    return frozenset((f.alias or name) for name, f in model.model_fields.items())


BUNDLE = _names(Bundle) | {"resourceType"}
ENTRY = _names(BundleEntry)
REQUEST = _names(BundleEntryRequest)


def check_known(holder: dict[str, Any], known: frozenset[str], where: str, what: str) -> None:
    """400 naming the first element of `holder` (`what`, at `where`) that `known` lacks."""
    unknown = sorted(key for key in holder if key not in known)
    if unknown:
        raise FhirError.one(
            400,
            "structure",
            f"{unknown[0]!r} is not an element of {what} in FHIR R4.",
            f"{where}.{unknown[0]}",
        )
