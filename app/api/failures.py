"""The last line of defence: an exception nobody handled becomes a 500 OperationOutcome, and
the log gets the exception's type, where it was raised, the route template and the request id.

Never the exception's text or traceback: a database driver's message can hold the SQL and the
values of the row being written (a child's NHS number, name, birth date). Starlette's own
500 handler re-raises so that the server logs the full traceback; the access log, which sees
every request anyway, answers here instead and does not re-raise, which is the point."""

from __future__ import annotations

import logging
import traceback

import orjson
from starlette.types import Scope, Send

from app.api.request_context import route_of
from app.fhir.errors import Issue, operation_outcome

log = logging.getLogger("wnb.api")


def log_unexpected(exc: Exception, scope: Scope, rid: str) -> None:
    log.error(
        "unhandled %s at %s on %s %s request %s",
        type(exc).__name__,
        raised_at(exc),
        scope.get("method", ""),
        route_of(scope),
        rid,
    )


def raised_at(exc: BaseException) -> str:
    """`module.py:line` of the innermost frame: enough to find the bug, nothing from the data."""
    frames = traceback.extract_tb(exc.__traceback__)
    if not frames:
        return "(unknown)"
    last = frames[-1]
    return f"{last.filename.rsplit('/', 1)[-1]}:{last.lineno}"


async def send_500(send: Send, rid: str) -> None:
    body = orjson.dumps(
        operation_outcome(
            [Issue("exception", f"Internal error; it has been logged as request {rid}.")]
        )
    )
    await send(
        {
            "type": "http.response.start",
            "status": 500,
            "headers": [
                (b"content-type", b"application/fhir+json"),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
