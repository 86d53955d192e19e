"""A FHIR search request, parsed and checked before any query is built."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from app.fhir.dates import parse_range
from app.fhir.errors import FhirError
from app.fhir.index import SEARCH_PARAMS, Param, fold
from app.fhir.numbers import whole_number
from app.fhir.search_chain import is_chained, parse_chain

DATE_PREFIXES = ("eq", "ne", "gt", "lt", "ge", "le")
SORTABLE = {
    "_lastUpdated": "last_updated",
    "_id": "id",
    "date": "sort_date",
    "birthdate": "sort_date",
}
IGNORED = frozenset({"_format", "_pretty"})
INCLUDABLE = {
    "Appointment": ("patient", "actor"),
    "RelatedPerson": ("patient",),
    "Flag": ("patient", "subject"),
    "Observation": ("patient", "subject"),
}


@dataclass(frozen=True)
class DateValue:
    prefix: str
    lo: datetime
    hi: datetime


Token = tuple[str | None, str]  # (system, code): a token, or an identifier (code "": any)
# What one value of a criterion is, by kind: a DateValue for date and lastUpdated, a Token for
# token and reference:identifier, else the text (folded for string).
SearchValue = str | Token | DateValue


@dataclass(frozen=True)
class Criterion:
    """One query parameter occurrence: its values are ORed; criteria are ANDed."""

    name: str
    kind: str  # token | string | date | reference | id | lastUpdated
    modifier: str | None
    values: tuple[SearchValue, ...]
    target: str | None = None


@dataclass
class SearchQuery:
    type: str
    criteria: list[Criterion] = field(default_factory=list)
    sort: list[tuple[str, bool]] = field(default_factory=list)  # (column, descending)
    count: int = 50
    offset: int = 0
    total: bool = True
    summary_count: bool = False
    includes: list[str] = field(default_factory=list)  # search params whose targets to add
    ignored: list[str] = field(default_factory=list)  # unknown names, under handling=lenient


def parse_search(
    type_name: str,
    items: list[tuple[str, str]],
    default_count: int,
    max_count: int,
    lenient: bool = False,
) -> SearchQuery:
    """Parse (name, value) pairs; raise 400 naming the offending parameter. `lenient`
    (`Prefer: handling=lenient`) skips unknown parameter names and lists them in `ignored`;
    a known parameter with a bad value is refused either way."""
    query = SearchQuery(type=type_name, count=default_count)
    params = SEARCH_PARAMS.get(type_name, {})
    for raw_name, raw_value in items:
        if "\x00" in raw_name or "\x00" in raw_value:
            raise FhirError.one(400, "invalid", "Search values must not contain NUL.", "query")
        name, _, modifier = raw_name.partition(":")
        if raw_name in IGNORED:
            continue
        if name == "_count":
            query.count = min(_int(raw_name, raw_value, 0), max_count)
        elif name == "_offset":
            query.offset = _int(raw_name, raw_value, 0)
        elif name == "_sort":
            query.sort = [_sort_key(raw_name, part) for part in raw_value.split(",")]
        elif name == "_total":
            query.total = _choice(raw_name, raw_value, ("none", "estimate", "accurate")) != "none"
        elif name == "_totalMethod":
            # Not FHIR but Aidbox's spelling of _total, sent by fhirpy's count(): known, so
            # a stock client works unchanged, and kept in the self link to say it was used.
            query.total = _choice(raw_name, raw_value, ("count", "estimate", "none")) != "none"
        elif name == "_summary":
            query.summary_count = _choice(raw_name, raw_value, ("count", "false")) == "count"
        elif name == "_include":
            query.includes.append(_include(type_name, raw_name, raw_value))
        elif name == "_id":
            query.criteria.append(Criterion(name, "id", None, tuple(_split(raw_name, raw_value))))
        elif name == "_lastUpdated":
            query.criteria.append(
                Criterion(name, "lastUpdated", None, (parse_date_param(raw_name, raw_value),))
            )
        elif is_chained(raw_name):
            query.criteria.append(_chained(type_name, raw_name, raw_value))
        elif name in params:
            query.criteria.append(_criterion(name, modifier or None, raw_value, params[name]))
        elif lenient:
            query.ignored.append(raw_name)
        else:
            supported = ", ".join(
                sorted(
                    [
                        *params,
                        "_id",
                        "_lastUpdated",
                        "_count",
                        "_sort",
                        "_total",
                        "_totalMethod",
                        "_include",
                        "_summary",
                    ]
                )
            )
            raise FhirError.one(
                400,
                "not-supported",
                f"Unknown search parameter {raw_name!r} for {type_name}; supported: {supported}.",
                raw_name,
            )
    return query


def _criterion(name: str, modifier: str | None, raw: str, param: Param) -> Criterion:
    allowed = {
        "string": (None, "contains"),
        "token": (None,),
        "reference": (None, "identifier"),
        "date": (None,),
    }[param.kind]
    if modifier not in allowed:
        raise FhirError.one(
            400,
            "not-supported",
            f"Modifier :{modifier} is not supported on {name}.",
            f"{name}:{modifier}",
        )
    values: list[SearchValue] = []
    for part in _split(name, raw):
        if param.kind == "date":
            values.append(parse_date_param(name, part))
        elif param.kind == "token":
            system, bar, code = part.partition("|")
            values.append((system or None, code) if bar else (None, part))
            if bar and not system and not code:
                raise FhirError.one(400, "invalid", "A token needs a code or a system.", name)
        elif param.kind == "reference" and modifier == "identifier":
            system, bar, code = part.partition("|")
            values.append((system or None, code) if bar else (None, part))
        elif param.kind == "string":
            values.append(fold(part))
        else:
            values.append(part)
    return Criterion(name, param.kind, modifier, tuple(values), param.target)


def _chained(type_name: str, raw_name: str, raw: str) -> Criterion:
    # A Patient found by an identifier is what `:identifier` already resolves (through the
    # identity keys of stored Patients), so the chain is that criterion under its own name.
    name, target = parse_chain(type_name, raw_name)
    tokens = [_token(raw_name, part) for part in _split(raw_name, raw)]
    return Criterion(name, "reference", "identifier", tuple(tokens), target)


def _token(name: str, part: str) -> Token:
    system, bar, code = part.partition("|")
    if bar and not code:
        raise FhirError.one(400, "invalid", "An identifier search needs a value.", name)
    return (system or None, code) if bar else (None, part)


def _split(name: str, raw: str) -> list[str]:
    parts = [p.replace("\\,", ",") for p in raw.replace("\\,", "\x00").split(",")]
    parts = [p.replace("\x00", ",") for p in parts]
    if not all(parts):
        raise FhirError.one(400, "invalid", f"Parameter {name} has an empty value.", name)
    return parts


def parse_date_param(name: str, raw: str) -> DateValue:
    """A date search value with its prefix; 400 naming `name` when it is not one."""
    prefix = raw[:2] if raw[:2] in DATE_PREFIXES else "eq"
    body = raw[2:] if raw[:2] in DATE_PREFIXES else raw
    rng = parse_range(body)
    if rng is None:
        raise FhirError.one(
            400,
            "invalid",
            f"{raw!r} is not a FHIR date (YYYY, YYYY-MM, "
            "YYYY-MM-DD or a dateTime), optionally prefixed eq|ne|gt|lt|ge|le.",
            name,
        )
    return DateValue(prefix, *rng)


def _int(name: str, raw: str, minimum: int) -> int:
    value = whole_number(raw)
    if value is None or value < minimum:
        raise FhirError.one(
            400, "invalid", f"{name} must be a whole number >= {minimum} (at most 9 digits).", name
        )
    return value


def _choice(name: str, raw: str, allowed: tuple[str, ...]) -> str:
    if raw not in allowed:
        raise FhirError.one(
            400, "not-supported", f"{name} must be one of {', '.join(allowed)}.", name
        )
    return raw


def _sort_key(name: str, part: str) -> tuple[str, bool]:
    desc = part.startswith("-")
    key = part[1:] if desc else part
    if key not in SORTABLE:
        raise FhirError.one(
            400, "not-supported", f"Cannot sort by {key!r}; use one of {', '.join(SORTABLE)}.", name
        )
    return SORTABLE[key], desc


def _include(type_name: str, name: str, raw: str) -> str:
    source, _, param = raw.partition(":")
    target_param = param.partition(":")[0]
    if source != type_name or target_param not in INCLUDABLE.get(type_name, ()):
        options = ", ".join(f"{type_name}:{p}" for p in INCLUDABLE.get(type_name, ())) or "none"
        raise FhirError.one(
            400, "not-supported", f"_include={raw} is not supported; options: {options}.", name
        )
    return target_param
