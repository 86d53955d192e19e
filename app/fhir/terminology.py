"""The terminology file: incoming codes to outcome categories, and the codes written back."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal, get_args

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    StringConstraints,
    ValidationError,
    model_validator,
)

StatusCode = Literal["cp-plan", "looked-after", "child-in-need"]
STATUS_CODES: tuple[StatusCode, ...] = get_args(StatusCode)
Category = Literal[
    "was-not-brought",
    "did-not-attend",
    "no-access",
    "carer-cancelled",
    "provider-cancelled",
    "cancelled-unknown",
    "attended",
    "booked",
]
CATEGORIES: tuple[Category, ...] = get_args(Category)
_CATEGORY_OF: dict[str, Category] = {c: c for c in CATEGORIES}
MISSED = frozenset({"was-not-brought", "did-not-attend", "no-access"})


def category_of(stored: str) -> Category:
    """A category read back from storage, as the category it is (KeyError: not one)."""
    return _CATEGORY_OF[stored]


ServiceName = Annotated[str, StringConstraints(pattern=r"^[a-z0-9]+(-[a-z0-9]+)*$", max_length=64)]


def normal_coding(system: str, code: str) -> tuple[str, str]:
    """A coding as the service compares it: spaces, case and a trailing "/" on the system
    are how two feeds differ in writing one code, not what it means."""
    return system.strip().rstrip("/").casefold(), code.strip().casefold()


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


class CarerIdentifier(BaseModel):
    model_config = ConfigDict(extra="forbid")
    system: str = Field(min_length=1)
    value: str = Field(min_length=1)


class ServiceCoding(BaseModel):
    model_config = ConfigDict(extra="forbid")
    system: str = Field(min_length=1)
    code: str = Field(min_length=1)


class CodeMap(BaseModel):
    model_config = ConfigDict(extra="forbid")
    system: str
    map: dict[str, Category]


class OutcomeServiceMap(BaseModel):
    model_config = ConfigDict(extra="forbid")
    system: str
    map: dict[str, ServiceName]


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
    _service_names: dict[tuple[str, str], str] = PrivateAttr(default_factory=dict)
    # One service however each system codes it: name -> the codings that mean it.
    service_equivalents: dict[ServiceName, list[ServiceCoding]] = {}
    # Service-specific outcome codes ("DNA GP appointment") -> a service_equivalents name: the
    # event's service when nothing else names one. Generic codes ("did not attend") are absent.
    outcome_services: list[OutcomeServiceMap] = []
    # Carer identifiers shared by unrelated children (a foster agency's number, a placeholder
    # NHS number a system sends when it has none): they never make two children one family.
    never_link_carers: list[CarerIdentifier] = []

    def links_carer(self, system: str, value: str) -> bool:
        """Whether a carer identifier may tie children into one family."""
        return not any(c.system == system and c.value == value for c in self.never_link_carers)

    @model_validator(mode="after")
    def _complete(self) -> Terminology:
        missing = sorted(set(CATEGORIES) - set(self.written_codes))
        if missing:
            raise ValueError(f"written_codes lacks a code for: {', '.join(missing)}")
        for code in self.written_codes.values():
            code.system = code.system or self.outcome_system
        named: dict[tuple[str, str], str] = {}
        for name, codings in self.service_equivalents.items():
            for coding in codings:
                pair = normal_coding(coding.system, coding.code)
                if named.setdefault(pair, name) != name:
                    raise ValueError(
                        f"service_equivalents: {coding.system}|{coding.code} is listed under "
                        f"both {named[pair]} and {name}"
                    )
        for mapping in self.outcome_services:
            for outcome_code, name in mapping.map.items():
                if name not in self.service_equivalents:
                    raise ValueError(
                        f"outcome_services: {mapping.system}|{outcome_code} names the service "
                        f"{name}, which service_equivalents does not list"
                    )
        return self

    def model_post_init(self, context: object, /) -> None:
        self._service_names = {
            normal_coding(c.system, c.code): name
            for name, codings in self.service_equivalents.items()
            for c in codings
        }

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
        if system == self.status_system:
            own = next((s for s in STATUS_CODES if s == code), None)
            if own is not None:
                return own
        for mapping in self.safeguarding_statuses:
            if mapping.system == system and code in mapping.map:
                return mapping.map[code]
        return None

    def service_name(self, system: str | None, code: str | None) -> str | None:
        """The service name a coding is declared equivalent to, if any."""
        return self._service_names.get(normal_coding(system or "", code or ""))

    def outcome_service(self, system: str | None, code: str | None) -> str | None:
        """The service a service-specific outcome code names ("DNA GP appointment"), if any."""
        for mapping in self.outcome_services:
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
