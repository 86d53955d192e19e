"""The terminology file: incoming codes to outcome categories, and the codes written back."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

StatusCode = Literal["cp-plan", "looked-after", "child-in-need"]
STATUS_CODES: tuple[str, ...] = StatusCode.__args__  # type: ignore[attr-defined]
Category = Literal[
    "was-not-brought",
    "did-not-attend",
    "no-access",
    "carer-cancelled",
    "provider-cancelled",
    "attended",
    "booked",
]
CATEGORIES: tuple[str, ...] = Category.__args__  # type: ignore[attr-defined]
MISSED = frozenset({"was-not-brought", "did-not-attend", "no-access"})


class TerminologyError(Exception):
    """A terminology file that cannot be used; the message names the file and the field."""


class WrittenCode(BaseModel):
    model_config = ConfigDict(extra="forbid")
    system: str | None = None
    code: str
    display: str


class CancellationReasons(BaseModel):
    model_config = ConfigDict(extra="forbid")
    system: str
    prefixes: dict[str, Category]
    default: Category

    def category_for(self, code: str | None) -> Category:
        if code:
            for prefix in sorted(self.prefixes, key=len, reverse=True):
                if code == prefix or code.startswith(prefix + "-"):
                    return self.prefixes[prefix]
        return self.default


class CodeMap(BaseModel):
    model_config = ConfigDict(extra="forbid")
    system: str
    map: dict[str, Category]


class StatusMap(BaseModel):
    model_config = ConfigDict(extra="forbid")
    system: str
    map: dict[str, StatusCode]


class Terminology(BaseModel):
    model_config = ConfigDict(extra="forbid")
    version: int
    canonical_base: str
    adult_age_years: int = Field(ge=1, le=25)
    written_codes: dict[Category, WrittenCode]
    appointment_status: dict[str, Category]
    cancellation_reason: CancellationReasons
    codes: list[CodeMap] = []
    safeguarding_statuses: list[StatusMap] = []

    @model_validator(mode="after")
    def _complete(self) -> Terminology:
        missing = sorted(set(CATEGORIES) - set(self.written_codes))
        if missing:
            raise ValueError(f"written_codes lacks a code for: {', '.join(missing)}")
        for code in self.written_codes.values():
            code.system = code.system or self.outcome_system
        return self

    @property
    def outcome_system(self) -> str:
        return f"{self.canonical_base}/CodeSystem/outcome-category"

    @property
    def status_system(self) -> str:
        return f"{self.canonical_base}/CodeSystem/safeguarding-status"

    @property
    def rule_system(self) -> str:
        return f"{self.canonical_base}/CodeSystem/wnb-rule"

    def status_for(self, system: str | None, code: str | None) -> StatusCode | None:
        if system == self.status_system and code in STATUS_CODES:
            return code  # type: ignore[return-value]
        for mapping in self.safeguarding_statuses:
            if mapping.system == system and code in mapping.map:
                return mapping.map[code]
        return None

    def code_category(self, system: str | None, code: str | None) -> Category | None:
        for mapping in self.codes:
            if mapping.system == system and code in mapping.map:
                return mapping.map[code]
        return None


def load_terminology(path: Path) -> Terminology:
    """Read and validate a terminology file; raise TerminologyError naming file and field."""
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise TerminologyError(f"{path}: cannot be read ({exc.strerror})") from exc
    except yaml.YAMLError as exc:
        raise TerminologyError(f"{path}: not valid YAML ({exc})") from exc
    try:
        return Terminology.model_validate(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "(top level)"
        raise TerminologyError(f"{path}: field {where}: {first['msg']}") from exc
