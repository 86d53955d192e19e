"""What a FHIR client may not write, beyond what its scopes say:

- a PUT that would create a resource needs the create scope (`c`), not only update (`u`);
- a Flag coded in the service's rule code system (or carrying the identifier the service gives
  its raised Flags) is the service's own: it changes only through the review API, which
  records who decided what. The service writes those Flags itself (the rules' flag store,
  the review service), never through here.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import orjson
from sqlalchemy.orm import Session

from app.fhir.errors import FhirError
from app.fhir.terminology import Terminology
from app.services.common.writes import WriteRequest, WriteResult
from app.store import resources_repo

Permit = Callable[[str, str], bool]  # (resource type, interaction) -> allowed


def check_client_writes(session: Session, requests: list[WriteRequest], terms: Terminology) -> None:
    """409 for any request that would create or change a rule-raised Flag."""
    for request in requests:
        if request.type != "Flag":
            continue
        where = request.where or "Flag"
        if is_rule_flag(request.data, terms):
            raise _service_owned(request.id, f"{where}.code")
        if request.id:
            stored = resources_repo.current(session, "Flag", request.id)
            if stored is not None and is_rule_flag(orjson.loads(stored.content), terms):
                raise _service_owned(request.id, f"{where}.id")


def check_put_creates(
    requests: list[WriteRequest], results: list[WriteResult], may: Permit, where: list[str]
) -> None:
    """403 for a PUT that created its resource when the caller has no create scope. Runs
    after the write, inside the transaction, so the refusal rolls it back."""
    for request, result, at in zip(requests, results, where, strict=True):
        if request.id is not None and result.status == 201 and not may(request.type, "create"):
            raise FhirError.one(
                403,
                "forbidden",
                f"{request.type}/{request.id} does not exist, and your scopes allow update "
                f"but not create of {request.type}.",
                at,
            )


def is_rule_flag(data: dict[str, Any], terms: Terminology) -> bool:
    code = data.get("code")
    codings = code.get("coding") if isinstance(code, dict) else None
    if isinstance(codings, list) and any(
        isinstance(c, dict) and c.get("system") == terms.rule_system for c in codings
    ):
        return True
    raised = f"{terms.canonical_base}/Id/raised-flag"
    identifiers = data.get("identifier")
    return isinstance(identifiers, list) and any(
        isinstance(i, dict) and i.get("system") == raised for i in identifiers
    )


def _service_owned(flag_id: str | None, expression: str) -> FhirError:
    path = f"/api/flags/{flag_id or '{id}'}/review"
    return FhirError.one(
        409,
        "business-rule",
        "This Flag is raised by the service's trigger rules and changes only through "
        f"POST {path} (acknowledge, note, outcome, close), which records the review.",
        expression,
    )
