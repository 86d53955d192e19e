"""What a nurse types to find a child, as Patient search parameters: an NHS number (with or
without spaces), a name, a date of birth, or part of a name with a date of birth."""

from __future__ import annotations

import re
from datetime import date

from app.fhir.errors import FhirError
from app.fhir.nhs_number import NHS_NUMBER_SYSTEM, is_valid

MAX_QUERY = 200
_NHS = re.compile(r"\d{3}[\s-]?\d{3}[\s-]?\d{4}")
_ISO = re.compile(r"(\d{4})-(\d{2})-(\d{2})")
_UK = re.compile(r"(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})")  # day first, as UK forms write it
_WORD = re.compile(r"[^\W\d_][\w'\-]*", re.UNICODE)


def person_search(text: str, where: str = "q") -> list[tuple[str, str]]:
    """Patient search parameters for `text`; 400 naming `where` when nothing in it can be
    searched for (an invalid NHS number or date, or no words at all)."""
    text = text.strip()
    if not text or len(text) > MAX_QUERY or "\x00" in text:
        raise _unclear(
            where,
            f"Type an NHS number, a name or a date of birth (at most {MAX_QUERY} characters).",
        )
    if _NHS.fullmatch(text):
        digits = re.sub(r"\D", "", text)
        if not is_valid(digits):
            raise _unclear(where, f"{text} is not a valid NHS number (its check digit is wrong).")
        return [("identifier", f"{NHS_NUMBER_SYSTEM}|{digits}")]
    params: list[tuple[str, str]] = []
    rest = text
    for pattern, order in ((_ISO, (1, 2, 3)), (_UK, (3, 2, 1))):
        for m in pattern.finditer(rest):
            y, mo, d = (int(m[i]) for i in order)
            try:
                born = date(y, mo, d)
            except ValueError:
                raise _unclear(where, f"{m[0]} is not a date.") from None
            params.append(("birthdate", born.isoformat()))
        rest = pattern.sub(" ", rest)
    params += [("name", w) for w in _WORD.findall(rest)][:4]
    if not params:
        raise _unclear(where, "Type an NHS number, a name or a date of birth.")
    return params


def _unclear(where: str, message: str) -> FhirError:
    return FhirError.one(400, "invalid", message, where)
