"""Limits on the shape of a query string, checked before any parameter is interpreted.

Thousands of repeats of one parameter, or one enormous value, are not a search anyone means:
left alone they become statements the database refuses (too many bound values, an
expression nested too deep, a LIKE pattern too long), which used to be reported as the
database being away. They are the client's mistake and are answered as such, naming the
parameter."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from app.fhir.errors import FhirError


@dataclass(frozen=True)
class QueryLimits:
    max_repeats: int  # occurrences of one parameter name (modifiers included)
    max_values: int  # comma-separated values of one parameter name, over all occurrences
    max_value_length: int  # characters in one occurrence's value


def check_query_shape(items: list[tuple[str, str]], limits: QueryLimits) -> None:
    """400 naming the first parameter beyond a limit; nothing otherwise."""
    repeats: Counter[str] = Counter()
    values: Counter[str] = Counter()
    for raw_name, raw_value in items:
        # `name` and `name:contains` are the same parameter to the database.
        name = raw_name.partition(":")[0][:64]
        if len(raw_value) > limits.max_value_length or len(raw_name) > limits.max_value_length:
            raise FhirError.one(
                400,
                "too-long",
                f"A value of {name} is longer than {limits.max_value_length} characters.",
                name,
            )
        repeats[name] += 1
        values[name] += raw_value.count(",") + 1
        if repeats[name] > limits.max_repeats:
            _too_costly(name, f"is repeated more than {limits.max_repeats} times")
        if values[name] > limits.max_values:
            _too_costly(name, f"has more than {limits.max_values} values")


def _too_costly(name: str, what: str) -> None:
    raise FhirError.one(400, "too-costly", f"{name} {what}.", name)
