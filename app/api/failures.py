"""The last line of defence: an exception nobody handled becomes a 500 OperationOutcome, and
the log gets the exception's type, where it was raised, the route template and the request id.

Never the exception's text or traceback: a database driver's message can hold the SQL and the
values of the row being written (a child's NHS number, name, birth date). Starlette's own
500 handler re-raises so that the server logs the full traceback; this middleware sits inside
it and does not re-raise, which is the point."""

from __future__ import annotations

import logging
import traceback

import orjson
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.api.request_context import request_id, route_of
from app.fhir.errors import Issue, operation_outcome

log = logging.getLogger("wnb.api")


class UnexpectedErrors:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except Exception as exc:  # the handler of last resort
            rid = request_id(scope)
            log.error(
                "unhandled %s at %s on %s %s request %s",
                type(exc).__name__,
                raised_at(exc),
                scope.get("method", ""),
                route_of(scope),
                rid,
            )
            if not started:  # else the client already has a status; the server closes it
                await _send_500(send, rid)


def raised_at(exc: BaseException) -> str:
    """`module.py:line` of the innermost frame: enough to find the bug, nothing from the data."""
    frames = traceback.extract_tb(exc.__traceback__)
    if not frames:
        return "(unknown)"
    last = frames[-1]
    return f"{last.filename.rsplit('/', 1)[-1]}:{last.lineno}"


async def _send_500(send: Send, rid: str) -> None:
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
