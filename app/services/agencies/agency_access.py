"""What an agency client may read: concerns that concern it (its type named by one of their
reasons, the concern in one of its areas) and the children those concerns are about, each
concern showing only the reasons that name the agency's type. Anything else is answered as if
it did not exist (404), so an agency cannot even learn that a record is there."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any, TypeVar

import orjson
from sqlalchemy.orm import Session

from app.auth.principal import Principal
from app.fhir.errors import FhirError
from app.fhir.raised_flag import for_agency
from app.services.common.answer import Answer
from app.services.common.version import Version
from app.store import agency_repo

T = TypeVar("T")
NOTHING = "none"  # an _id no resource has: an agency that may see no flag finds none


@dataclass(frozen=True)
class AgencyScope:
    agency_type: str
    areas: tuple[str, ...]


def scope_of(session: Session, who: Principal) -> AgencyScope | None:
    """The agency's entitlement; None for callers that are not agencies (not narrowed here).
    An agency client without a registration sees nothing."""
    if who.role != "agency":
        return None
    row = agency_repo.binding(session, who.id) if who.kind == "client" else None
    if row is None:
        return AgencyScope("", ())
    return AgencyScope(row.agency_type, tuple(row.areas.split()))


def check_read(session: Session, who: Principal, type_name: str, rid: str) -> None:
    """404 unless an agency may read this resource (read, vread and history alike)."""
    scope = scope_of(session, who)
    if scope is None:
        return
    if type_name == "Flag":
        allowed = agency_repo.flag_concerns(session, rid, scope.agency_type, scope.areas)
    elif type_name == "Patient":
        allowed = agency_repo.child_concerns(session, rid, scope.agency_type, scope.areas)
    else:
        allowed = False
    if not allowed:
        raise FhirError.one(404, "not-found", f"{type_name}/{rid} is not known.", f"{type_name}.id")


def narrow_search(
    session: Session, who: Principal, type_name: str, params: list[tuple[str, str]]
) -> list[tuple[str, str]]:
    """An agency's search of Flag, limited to the flags that concern it (an `_id` criterion,
    ANDed with whatever it asked). `_include` then only reaches those flags' subjects."""
    scope = scope_of(session, who)
    if scope is None:
        return params
    if type_name != "Flag":
        raise FhirError.one(403, "forbidden", f"An agency cannot search {type_name}.")
    ids = agency_repo.concerning_flag_ids(session, scope.agency_type, scope.areas)
    return [*params, ("_id", ",".join(ids) or NOTHING)]


def guarded(
    who: Principal, type_name: str, rid: str, use_case: Callable[[Session], Answer[T]]
) -> Callable[[Session], Answer[T]]:
    """`use_case` preceded, in its transaction, by the agency check of `check_read`, and its
    Flags narrowed to the reasons that concern the agency."""

    def run(session: Session) -> Answer[T]:
        check_read(session, who, type_name, rid)
        return narrowed(session, who, type_name, use_case(session))

    return run


def narrowed(session: Session, who: Principal, type_name: str, answer: Answer[T]) -> Answer[T]:
    """An answer holding Flags (one version, or a Bundle) as an agency may see it: each of
    the service's concerns with only the reasons that name the agency's type."""
    scope = scope_of(session, who)
    if scope is None or type_name != "Flag":
        return answer
    body: Any = answer.body
    if isinstance(body, Version):
        flag = for_agency(orjson.loads(body.content), scope.agency_type)
        return replace(answer, body=replace(body, content=orjson.dumps(flag)))  # type: ignore[arg-type]
    bundle = orjson.loads(body)
    for entry in bundle.get("entry", ()):
        resource = entry.get("resource")
        if isinstance(resource, dict) and resource.get("resourceType") == "Flag":
            entry["resource"] = for_agency(resource, scope.agency_type)
    return replace(answer, body=orjson.dumps(bundle))  # type: ignore[arg-type]
