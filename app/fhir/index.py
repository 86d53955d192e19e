"""What each resource type can be searched by, and the index values a resource yields."""

from __future__ import annotations

import unicodedata
from collections.abc import Collection, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from app.fhir.dates import parse_range
from app.fhir.references import split_local
from app.fhir.walk import values_at


@dataclass(frozen=True)
class IndexValue:
    param: str
    system: str | None = None
    code: str | None = None
    date_lo: datetime | None = None
    date_hi: datetime | None = None


@dataclass(frozen=True)
class Param:
    kind: str  # token | string | date | reference
    paths: tuple[str, ...]
    target: str | None = None  # reference params: the type they point at
    # A reference param over the same paths as a narrower one: (its name, its target). The
    # values both would hold (`actor=Patient/1` and `patient=Patient/1`) are stored once,
    # under the narrower, and a search by this param looks under both. A miss's row count
    # falls by one per appointment and Flag version, and its write by one index entry.
    stored_under: tuple[str, str] | None = None


SEARCH_PARAMS: dict[str, dict[str, Param]] = {
    "Patient": {
        "identifier": Param("token", ("identifier[]",)),
        "birthdate": Param("date", ("birthDate",)),
        "name": Param("string", ("name[].family", "name[].given[]", "name[].text")),
        "family": Param("string", ("name[].family",)),
        "given": Param("string", ("name[].given[]",)),
        "gender": Param("token", ("gender",)),
    },
    "RelatedPerson": {
        "patient": Param("reference", ("patient",), "Patient"),
        "identifier": Param("token", ("identifier[]",)),
        "relationship": Param("token", ("relationship[].coding[]",)),
        "name": Param("string", ("name[].family", "name[].given[]", "name[].text")),
    },
    "Group": {
        "member": Param("reference", ("member[].entity",), "Patient"),
        "identifier": Param("token", ("identifier[]",)),
        "type": Param("token", ("type",)),
    },
    "Appointment": {
        "patient": Param("reference", ("participant[].actor",), "Patient"),
        "actor": Param("reference", ("participant[].actor",), None, ("patient", "Patient")),
        "status": Param("token", ("status",)),
        "date": Param("date", ("start",)),
        "service-type": Param("token", ("serviceType[].coding[]",)),
        "specialty": Param("token", ("specialty[].coding[]",)),
        "service-category": Param("token", ("serviceCategory[].coding[]",)),
        "appointment-type": Param("token", ("appointmentType.coding[]",)),
        "identifier": Param("token", ("identifier[]",)),
    },
    "Flag": {
        "patient": Param("reference", ("subject",), "Patient"),
        "subject": Param("reference", ("subject",), None, ("patient", "Patient")),
        "status": Param("token", ("status",)),
        "code": Param("token", ("code.coding[]",)),
        "category": Param("token", ("category[].coding[]",)),
        "date": Param("date", ("period",)),
        "identifier": Param("token", ("identifier[]",)),
    },
    "Organization": {
        "identifier": Param("token", ("identifier[]",)),
        "name": Param("string", ("name",)),
    },
    "Observation": {
        "patient": Param("reference", ("subject",), "Patient"),
        "subject": Param("reference", ("subject",), None, ("patient", "Patient")),
        "status": Param("token", ("status",)),
        "code": Param("token", ("code.coding[]",)),
        "date": Param("date", ("effectiveDateTime", "effectivePeriod", "effectiveInstant")),
        "identifier": Param("token", ("identifier[]",)),
    },
}

# The date a type sorts by for `_sort=date` / `_sort=birthdate`.
SORT_DATE_PATHS: dict[str, tuple[str, ...]] = {
    "Patient": ("birthDate",),
    "Appointment": ("start", "created"),
    "Flag": ("period.start",),
    "Observation": ("effectiveDateTime", "effectivePeriod.start", "effectiveInstant", "issued"),
}


def fold(text: str) -> str:
    """Case- and accent-insensitive form used for string search."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold().strip()


def index_values(data: dict[str, Any], elements: Collection[str] | None = None) -> list[IndexValue]:
    """Every search index value of a resource (ids in references must already be resolved);
    with `elements`, only the values drawn from those top-level elements."""
    type_name = data["resourceType"]
    out: list[IndexValue] = []
    for name, param in SEARCH_PARAMS.get(type_name, {}).items():
        for path in param.paths:
            if elements is not None and _top(path) not in elements:
                continue
            for value in values_at(data, path):
                out.extend(_values(name, param, value))
    return out


def stored_params(type_name: str, name: str) -> tuple[str, ...]:
    """The params whose stored values answer a search by param `name` of `type_name`."""
    param = SEARCH_PARAMS.get(type_name, {}).get(name)
    return (name, param.stored_under[0]) if param and param.stored_under else (name,)


def _top(path: str) -> str:
    return path.partition(".")[0].removesuffix("[]")


def searched_elements(type_name: str) -> frozenset[str]:
    """The top-level elements a type's search values are drawn from (with `resourceType`):
    two resources equal in these have the same `index_values`."""
    found = _SEARCHED.get(type_name)
    if found is None:
        paths = (p for param in SEARCH_PARAMS.get(type_name, {}).values() for p in param.paths)
        found = frozenset({"resourceType", *(_top(p) for p in paths)})
        _SEARCHED[type_name] = found
    return found


_SEARCHED: dict[str, frozenset[str]] = {}


def _values(name: str, param: Param, value: Any) -> Iterator[IndexValue]:
    if param.kind == "token":
        if isinstance(value, str):
            yield IndexValue(name, None, value[:255])
        elif isinstance(value, dict) and isinstance(
            code := value.get("value", value.get("code")), str
        ):
            yield IndexValue(name, value.get("system"), code[:255])
    elif param.kind == "string" and isinstance(value, str):
        yield IndexValue(name, None, fold(value)[:255])
    elif param.kind == "date":
        lo_hi = _date_range(value)
        if lo_hi:
            yield IndexValue(name, None, None, *lo_hi)
    elif param.kind == "reference" and isinstance(value, dict):
        local = split_local(value.get("reference") or "")
        if not local or (param.stored_under and local[0] == param.stored_under[1]):
            return
        if param.target is None or local[0] == param.target:
            yield IndexValue(name, None, f"{local[0]}/{local[1]}")


def _date_range(value: Any) -> tuple[datetime, datetime] | None:
    if isinstance(value, str):
        return parse_range(value)
    if isinstance(value, dict):  # Period
        start = parse_range(value["start"]) if isinstance(value.get("start"), str) else None
        end = parse_range(value["end"]) if isinstance(value.get("end"), str) else None
        if start or end:
            # parse_range gives UTC: an open end is the first or last moment in UTC.
            lo = start[0] if start else datetime.min.replace(tzinfo=UTC)
            hi = end[1] if end else datetime.max.replace(tzinfo=UTC)
            return lo, hi
    return None


def sort_date(data: dict[str, Any]) -> datetime | None:
    for path in SORT_DATE_PATHS.get(data["resourceType"], ()):
        for value in values_at(data, path):
            if isinstance(value, str) and (rng := parse_range(value)):
                return rng[0]
    return None
