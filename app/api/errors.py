"""Every error becomes a FHIR OperationOutcome, here and nowhere else."""

from __future__ import annotations

import logging
from collections.abc import Mapping

import orjson
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from sqlalchemy.exc import DataError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect

from app.api.database_errors import database_away as is_away
from app.api.request_context import request_id, route_of
from app.api.responses import FhirResponse
from app.fhir.errors import FhirError, Issue, operation_outcome

log = logging.getLogger("wnb.api")

HTTP_CODES = {404: "not-found", 405: "not-supported", 401: "login", 403: "forbidden"}


def outcome_response(
    status: int, issues: list[Issue], headers: Mapping[str, str] | None = None
) -> FhirResponse:
    return FhirResponse(
        orjson.dumps(operation_outcome(issues)), status_code=status, headers=headers
    )


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(FhirError)
    async def fhir_error(_: Request, exc: FhirError) -> FhirResponse:
        return outcome_response(exc.status, exc.issues, getattr(exc, "headers", None))

    @app.exception_handler(RequestValidationError)
    async def bad_request(_: Request, exc: RequestValidationError) -> FhirResponse:
        issues = [
            Issue("invalid", str(e.get("msg")), ".".join(str(p) for p in e.get("loc", ())))
            for e in exc.errors()
        ]
        return outcome_response(400, issues)

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException) -> FhirResponse:
        message = {
            404: f"No route for {request.url.path}.",
            405: f"{request.method} is not supported on {request.url.path}.",
        }.get(exc.status_code, str(exc.detail))
        return outcome_response(
            exc.status_code,
            [Issue(HTTP_CODES.get(exc.status_code, "processing"), message)],
            exc.headers,
        )

    @app.exception_handler(DataError)
    async def unstorable(request: Request, exc: DataError) -> FhirResponse:
        # The database refused a value (a NUL character, a number out of range): the
        # client's input, caught here as a last line after the checks that name the field.
        log.warning(
            "database refused a value on %s %s request %s",
            request.method,
            route_of(request.scope),
            request_id(request.scope),
        )
        return outcome_response(
            400,
            [
                Issue(
                    "invalid",
                    "The request holds a value that cannot "
                    "be stored (e.g. a NUL character or a number out "
                    "of range).",
                )
            ],
        )

    for kind in DATABASE_AWAY:
        app.add_exception_handler(kind, database_away)
    app.add_exception_handler(ClientDisconnect, client_gone)


# Lost connection, refused connection, pool exhausted, SQLite locked past its timeout,
# PostgreSQL serialization failure: none is the client's fault and all pass; ask for a retry.
# These types also carry statement errors, which `is_away` tells apart.
DATABASE_AWAY = (OperationalError, InterfaceError, PoolTimeout)
RETRY_AFTER_SECONDS = 5


async def database_away(request: Request, exc: Exception) -> FhirResponse:
    if not is_away(exc):
        # A statement the database refused is a bug, not an outage: the access log answers
        # it with 500 and logs its type and place.
        raise exc
    # The type only: the driver's message names the statement and, without
    # hide_parameters, the values being written.
    log.warning(
        "database unavailable (%s) on %s %s request %s",
        type(exc).__name__,
        request.method,
        route_of(request.scope),
        request_id(request.scope),
    )
    return outcome_response(
        503,
        [Issue("transient", "The database is unavailable; nothing was changed. Try again.")],
        {"Retry-After": str(RETRY_AFTER_SECONDS)},
    )


async def client_gone(request: Request, exc: Exception) -> FhirResponse:
    # The client hung up mid-body: nobody will read an answer and nothing was stored.
    log.info(
        "client disconnected on %s %s request %s",
        request.method,
        route_of(request.scope),
        request_id(request.scope),
    )
    return outcome_response(400, [Issue("incomplete", "The request body was cut short.")])
