"""Bytes to a validated resource: orjson for the dict we keep, R4B for structure."""

from __future__ import annotations

from typing import Any

import orjson
from fhir.resources.R4B import get_fhir_model_class
from pydantic import ValidationError

from app.fhir.duplicate_keys import duplicate_key_at
from app.fhir.errors import FhirError, Issue
from app.fhir.nesting import MAX_JSON_DEPTH, too_deep_at, too_many_at
from app.fhir.sure_valid import certainly_valid, prepare

WRITABLE_TYPES = (
    "Patient",
    "RelatedPerson",
    "Group",
    "Appointment",
    "Flag",
    "Observation",
    "Organization",
)


def warm_models() -> int:
    """Load the R4B classes of every type written here (and Subscription) and build the
    structure check's tables for them, as a first request would. How many classes."""
    return sum(prepare(get_fhir_model_class(t)) for t in (*WRITABLE_TYPES, "Subscription"))


def load_json(body: bytes, root: str | None = None) -> dict[str, Any]:
    """Decode a request body, or raise 400 naming why (and where, for a NUL character, under
    `root`: the resourceType when not given)."""
    if not body:
        raise FhirError.one(
            400, "required", "The request body is empty; a FHIR resource is needed."
        )
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise FhirError.one(400, "structure", f"The body is not valid JSON: {exc}.") from exc
    if not isinstance(data, dict):
        raise FhirError.one(400, "structure", "The body must be a JSON object (a FHIR resource).")
    deep = too_deep_at(data, root or str(data.get("resourceType") or "body"))
    if deep:
        raise FhirError.one(
            400,
            "too-costly",
            f"The body nests deeper than {MAX_JSON_DEPTH} objects and arrays.",
            deep,
        )
    duplicate = duplicate_key_at(body, root or str(data.get("resourceType") or "body"))
    if duplicate:
        raise FhirError.one(
            400,
            "structure",
            "The element appears twice in one JSON object; send each key once.",
            duplicate,
        )
    crowded = too_many_at(data, root or str(data.get("resourceType") or "body"))
    if crowded:
        raise FhirError.one(
            422,
            "too-costly",
            f"The element repeats more than {crowded[1]} times.",
            crowded[0],
        )
    if b"\\u0000" in body:  # a cheap look first; the walk runs only for the rare bad body
        where = _nul_at(data, root or str(data.get("resourceType") or "body"))
        if where:
            raise FhirError.one(
                400, "invalid", "Text must not contain the NUL character (\\u0000).", where
            )
    return data


def _nul_at(node: Any, where: str) -> str | None:
    if isinstance(node, str):
        return where if "\x00" in node else None
    items = (
        node.items()
        if isinstance(node, dict)
        else (((f"[{i}]", v) for i, v in enumerate(node)) if isinstance(node, list) else ())
    )
    for key, value in items:
        found = _nul_at(value, f"{where}{key}" if key.startswith("[") else f"{where}.{key}")
        if found:
            return found
    return None


def expression_of(type_name: str, loc: tuple[int | str, ...]) -> str:
    """A pydantic error location as a FHIRPath expression, e.g. Appointment.participant[0]."""
    out = type_name
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif part != "__root__":
            out += f".{part}"
    return out


def validate_structure(data: dict[str, Any], expected: str | None = None) -> str:
    """Check `data` against the R4B model of its resourceType; return that type.

    Raises 400 with one issue per R4B complaint, each with its FHIRPath `expression`.
    """
    type_name = data.get("resourceType")
    if not isinstance(type_name, str) or not type_name:
        raise FhirError.one(400, "required", "resourceType is missing.", "resourceType")
    if expected is not None and type_name != expected:
        raise FhirError.one(
            400,
            "invalid",
            f"resourceType is {type_name!r} but this endpoint takes {expected}.",
            "resourceType",
        )
    try:
        model = get_fhir_model_class(type_name)
    except (KeyError, ValueError) as exc:
        raise FhirError.one(
            400, "not-supported", f"{type_name!r} is not a FHIR R4 resource type.", "resourceType"
        ) from exc
    if certainly_valid(model, data):
        return type_name  # R4B's own checks, without building the model (sure_valid.py)
    try:
        model.model_validate(data)
    except ValidationError as exc:
        issues = [
            Issue(
                "structure",
                f"{err['msg']}",
                expression_of(type_name, tuple(err["loc"])),
            )
            for err in exc.errors(include_url=False)[:20]
        ]
        raise FhirError(400, issues) from exc
    except (TypeError, ValueError) as exc:  # fhir.resources raises plain errors for some shapes
        raise FhirError.one(400, "structure", f"Invalid {type_name}: {exc}", type_name) from exc
    return type_name


def bundle_within(data: dict[str, Any], max_entries: int) -> dict[str, Any]:
    """`data`, or 413 naming Bundle.entry when it holds more entries than a Bundle may."""
    entries = data.get("entry")
    if isinstance(entries, list) and len(entries) > max_entries:
        raise FhirError.one(
            413,
            "too-costly",
            f"A Bundle may hold at most {max_entries} entries; send it in parts.",
            "Bundle.entry",
        )
    return data
