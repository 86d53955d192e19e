"""Running a page's use case the way the API does: one transaction with its audit record,
and a refusal (404, 409, 422) turned into a page a person can read."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from fastapi import Request
from sqlalchemy.orm import Session

from app.api import audited as api
from app.api.state import get_state
from app.auth.principal import Principal
from app.fhir.errors import FhirError
from app.services.access.audit import AuditNote
from app.services.common.answer import Answer
from app.services.common.writes import WriteContext

B = TypeVar("B")


class PageError(Exception):
    """A use case refused: shown as an error page with the use case's own status."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


async def audited(
    request: Request,
    who: Principal,
    note: AuditNote,
    use_case: Callable[[Session], Answer[B]],
    ctx: WriteContext | None = None,
) -> B:
    """The answer's body; a page signs its user in (`guard.page_user`), which is its check.
    A write passes the `ctx` its use case was given."""
    try:
        return await api.audited(get_state(request), who, note, (), use_case, ctx)
    except FhirError as exc:
        raise PageError(exc.status, message_of(exc)) from exc


def message_of(exc: FhirError) -> str:
    return " ".join(i.diagnostics for i in exc.issues if i.diagnostics) or "Something went wrong."
