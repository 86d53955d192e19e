"""SMART on FHIR v2 scopes (`system/Appointment.cu`, `user/*.rs`) and the roles built of them.

SMART v1 spellings (`system/Flag.read`, `patient/*.write`, `user/*.*`) are read as their v2
equivalents, as SMART App Launch 2 asks of servers that still meet v1 clients."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from app.fhir.parse import WRITABLE_TYPES

PERMISSIONS = "cruds"
_SCOPE = re.compile(r"^(system|user)/(\*|[A-Z][A-Za-z]+)\.([cruds]+)$")
_V1_SCOPE = re.compile(r"^(system|user)/(\*|[A-Z][A-Za-z]+)\.(read|write|\*)$")
# SMART App Launch 2, "Scopes for requesting clinical data": what each v1 word means in v2.
V1_PERMISSIONS = {"read": "rs", "write": "cud", "*": "cruds"}
# Interactions and the permission letter each needs.
INTERACTION_PERMISSION = {
    "create": "c",
    "read": "r",
    "vread": "r",
    "history": "r",
    "update": "u",
    "delete": "d",
    "search": "s",
}
REVIEW = "FlagReview"  # the review API's pseudo-type: reviewing a flag "creates" a review
# Every writable type, Organization included: a source names its practices and clinics so
# nurses read names, not codes.
SOURCE_TYPES = WRITABLE_TYPES
CLINICAL_TYPES = SOURCE_TYPES

ROLE_SCOPES: dict[str, str] = {
    # A GP or hospital system: writes what it sends, reads nothing else.
    "source": " ".join(f"system/{t}.cu" for t in SOURCE_TYPES),
    # A safeguarding nurse's client: reads and searches the record, reviews flags through
    # the review API (FlagReview is no FHIR type: the scope names that one operation). It
    # writes nothing through FHIR, so it can neither create a status nor silence a flag.
    "nurse": " ".join(f"system/{t}.rs" for t in CLINICAL_TYPES) + f" system/{REVIEW}.c",
    # A partner agency: what an alert needs and no more (subscriptions narrow it further).
    "agency": "system/Flag.rs system/Patient.r system/Subscription.crus",
    # A partnership admin: everything, audit included.
    "admin": "system/*.cruds",
}
USER_ROLE_SCOPES: dict[str, str] = {
    "nurse": ROLE_SCOPES["nurse"].replace("system/", "user/"),
    "admin": "user/*.cruds",
}


class ScopeError(ValueError):
    """A scope string that is not SMART v2 `context/Type.perms`."""


@dataclass(frozen=True, order=True)
class Scope:
    context: str
    resource: str
    permissions: str

    def __str__(self) -> str:
        return f"{self.context}/{self.resource}.{self.permissions}"

    def allows(self, resource: str, letter: str) -> bool:
        return self.resource in ("*", resource) and letter in self.permissions

    def intersect(self, other: Scope) -> Scope | None:
        if self.context != other.context:
            return None
        if self.resource == "*":
            resource = other.resource
        elif other.resource in ("*", self.resource):
            resource = self.resource
        else:
            return None
        perms = "".join(p for p in PERMISSIONS if p in self.permissions and p in other.permissions)
        return Scope(self.context, resource, perms) if perms else None


def parse_scope(text: str) -> Scope:
    if v1 := _V1_SCOPE.match(text):
        return Scope(v1[1], v1[2], V1_PERMISSIONS[v1[3]])
    m = _SCOPE.match(text)
    if not m or not _in_order(m[3]):
        raise ScopeError(
            f"{text!r} is not a SMART v2 scope such as system/Appointment.cu "
            "(permissions in the order c r u d s)"
        )
    return Scope(m[1], m[2], m[3])


def parse_scopes(text: str) -> list[Scope]:
    return list(_parsed(text))


@lru_cache(maxsize=1024)
def _parsed(text: str) -> tuple[Scope, ...]:
    # Every request's token carries its client's few scope strings: parsed once each, where
    # the regular expressions cost about 1% of a write (py-spy, bench/RESULTS.md 2026-12-07).
    return tuple(parse_scope(part) for part in text.split())


def parse_requested(text: str) -> tuple[list[Scope], list[str]]:
    """A token request's scopes, and the words that are no resource scope (`launch/patient`,
    `openid`, a granular `?category=` scope): RFC 6749 section 3.3 lets the server leave
    those out of what it grants rather than refuse the request."""
    scopes: list[Scope] = []
    other: list[str] = []
    for part in text.split():
        try:
            scopes.append(parse_scope(part))
        except ScopeError:
            other.append(part)
    return scopes, other


def grant(requested: list[Scope], registered: list[Scope]) -> list[Scope]:
    """What may be granted: each requested scope narrowed to the registration, none wider."""
    out = [
        both
        for want in requested
        for have in registered
        if (both := want.intersect(have)) is not None
    ]
    return normalise(out)


def normalise(scopes: list[Scope]) -> list[Scope]:
    """One scope per context and resource, letters merged in c r u d s order, sorted."""
    merged: dict[tuple[str, str], set[str]] = {}
    for s in scopes:
        merged.setdefault((s.context, s.resource), set()).update(s.permissions)
    return sorted(
        Scope(context, resource, "".join(p for p in PERMISSIONS if p in letters))
        for (context, resource), letters in merged.items()
    )


def allows(scopes: list[Scope], resource: str, interaction: str) -> bool:
    letter = INTERACTION_PERMISSION[interaction]
    return any(s.allows(resource, letter) for s in scopes)


def render(scopes: list[Scope]) -> str:
    return " ".join(str(s) for s in scopes)


def _in_order(perms: str) -> bool:
    positions = [PERMISSIONS.index(p) for p in perms]
    return positions == sorted(set(positions))
