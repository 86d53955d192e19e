"""Catching personal data in what the suite logged: NHS numbers, the test patients' names and
birth dates, and FHIR JSON bodies."""

from __future__ import annotations

import logging
import re

from app.fhir.nhs_number import is_valid

# Ten digits standing alone: a run of ten digits inside a hex identifier (a family's uuid)
# can pass the NHS check digit, and once failed a clean-clone run.
TEN_DIGITS = re.compile(r"(?<![0-9A-Za-z])\d{10}(?![0-9A-Za-z])")
ISO_DATE = re.compile(r"\b(19|20)\d\d-\d\d-\d\d\b")
NAMES = ("Siobh", "O'Brien", "Jones", "Smith", "Obi", "Twin", '"resourceType"')


class Collector(logging.Handler):
    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        text = record.getMessage()
        if record.exc_info and record.exc_info[1] is not None:
            text += f" | {record.exc_info[1]}"
        self.lines.append(f"{record.name}: {text}")


def personal_data(lines: list[str]) -> list[str]:
    """The lines that carry something that identifies a person."""
    found = []
    for line in lines:
        if (
            any(is_valid(m) for m in TEN_DIGITS.findall(line))
            or ISO_DATE.search(line)
            or any(name in line for name in NAMES)
        ):
            found.append(line)
    return found
