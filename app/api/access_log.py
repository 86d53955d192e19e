"""One log line per request: method, route template, status, time and request id. Never the
path, query string or body, which carry ids, NHS numbers and names. Every response carries its
request id in `X-Request-ID`, so a caller can quote it and an operator can find the line. The
same observation feeds the process's metrics (requests, time, statements per route), an
exception nobody handled ends here as a 500 (`failures`), and every response, that 500
included, gets the security headers (`headers`): one wrapper sees every request, and the
service pays for one middleware layer, not three."""

from __future__ import annotations

import logging
import time

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.api.failures import log_unexpected, send_500
from app.api.headers import BASE_HEADERS, HSTS
from app.api.metrics import Metrics, counting_statements
from app.api.request_context import REQUEST_ID_HEADER, request_id, route_of

log = logging.getLogger("wnb.access")


class AccessLog:
    def __init__(self, app: ASGIApp, metrics: Metrics | None = None, hsts: bool = True) -> None:
        self.app = app
        self.metrics = metrics
        self.headers = BASE_HEADERS + ([HSTS] if hsts else [])

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        rid = request_id(scope)
        started = time.perf_counter()
        status: int | None = None  # until the response starts

        async def record_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = [*message.get("headers", []), (REQUEST_ID_HEADER, rid.encode())]
                # A header the response set itself (a page's own CSP) is kept as it is.
                present = {k.lower() for k, _ in headers}
                headers += [(k, v) for k, v in self.headers if k not in present]
                message["headers"] = headers
            await send(message)

        with counting_statements() as statements:
            try:
                await self.app(scope, receive, record_status)
            except Exception as exc:  # the handler of last resort
                log_unexpected(exc, scope, rid)
                if status is None:  # else the client already has a status; the server closes it
                    await send_500(record_status, rid)
            finally:
                status = 500 if status is None else status
                seconds, route = time.perf_counter() - started, route_of(scope)
                if self.metrics is not None:
                    self.metrics.observe(scope["method"], route, status, seconds, statements[0])
                if log.isEnabledFor(logging.INFO):
                    log.info(
                        "%s %s %d %.1fms request %s",
                        scope["method"],
                        route,
                        status,
                        seconds * 1000,
                        rid,
                    )
