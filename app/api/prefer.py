"""The HTTP `Prefer` header, as FHIR uses it for search: `handling=strict` (refuse unknown
parameters, our default) or `handling=lenient` (ignore them and say so)."""

from __future__ import annotations

from app.fhir.errors import FhirError

HANDLING = ("strict", "lenient")


def search_handling(prefer: str | None) -> str:
    """'strict' or 'lenient'; 400 naming the header for any other handling value."""
    for part in (prefer or "").split(","):
        name, _, value = part.strip().partition("=")
        if name.strip().lower() != "handling":
            continue
        value = value.strip().strip('"').lower()
        if value not in HANDLING:
            raise FhirError.one(
                400, "invalid", "Prefer: handling must be strict or lenient.", "Prefer"
            )
        return value
    return "strict"
