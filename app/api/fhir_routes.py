"""The FHIR REST API: thin handlers that check the caller, call one service, return FHIR JSON.
Every interaction is recorded in the audit trail in the transaction that carries it out."""

from __future__ import annotations

from datetime import UTC, datetime
from enum import Enum
from typing import Annotated

import orjson
from fastapi import APIRouter, Header, Request
from starlette.concurrency import run_in_threadpool

from app.api.audited import CHECK_ON_LOOP_BYTES, audited, audited_write
from app.api.body import read_json
from app.api.openapi_docs import fhir_body, fhir_responses, search_params
from app.api.prefer import search_handling
from app.api.responses import FhirResponse, resource_response, write_response
from app.api.security import require
from app.api.state import PrincipalDep, StateDep
from app.auth.principal import Principal
from app.fhir.capability import capability_statement
from app.fhir.errors import FhirError
from app.fhir.etag import parse_etag
from app.fhir.parse import WRITABLE_TYPES, bundle_within, load_json
from app.runtime import AppState
from app.services.access.audit import AuditNote
from app.services.agencies.agency_access import guarded, narrow_search, narrowed
from app.services.records import read as read_service
from app.services.records import resources as resource_service
from app.services.records import search as search_service
from app.services.records.bundle import may_see_match, process_bundle

VERSION = "0.1.0"
READ_ERRORS = (400, 401, 403, 404, 429)
WRITE_ERRORS = (400, 401, 403, 404, 409, 412, 413, 415, 422, 429)


def build_router() -> APIRouter:
    router = APIRouter(prefix="/fhir", default_response_class=FhirResponse)

    @router.get(
        "/metadata",
        tags=["FHIR"],
        summary="CapabilityStatement (no sign-in needed)",
        responses=fhir_responses(200),
    )
    async def metadata(state: StateDep) -> FhirResponse:
        date = datetime.now(UTC).date().isoformat()
        return FhirResponse(
            orjson.dumps(capability_statement(state.settings.base_url.rstrip("/"), VERSION, date))
        )

    @router.post(
        "",
        tags=["FHIR"],
        summary="transaction or batch Bundle",
        openapi_extra=fhir_body("Bundle"),
        responses=fhir_responses(200, *WRITE_ERRORS),
    )
    async def bundle(request: Request, state: StateDep, who: PrincipalDep) -> FhirResponse:
        note = AuditNote("transaction", "Bundle")
        raw = await read_body(request, state, who, note)
        # Its turn first, waited for on the event loop (`app/bundle_slots.py`); its time
        # once it has one.
        async with state.bundle_slots.held():
            ctx = state.write_context(author=(who.kind, who.id))  # stamped on every version
            # Scopes are checked entry by entry: a batch answers each refusal in its entry.
            limit = state.settings.max_bundle_entries
            body = await audited(
                state,
                who,
                note,
                (),
                lambda s: process_bundle(s, bundle_within(load_json(raw), limit), ctx, who.may),
                ctx,
            )
        return FhirResponse(body)

    for type_name in WRITABLE_TYPES:
        _add_type(router, type_name)
    # Writes first: routing tries each route in turn. A POST's path is a search's too, but a
    # route matches fully only for its own method, and the stable sort keeps every other
    # route's order (and so the first partial match, which answers 405 with `Allow`). Sorted
    # before the router is included anywhere: FastAPI builds its route list at inclusion.
    router.routes.sort(key=lambda r: "POST" not in (getattr(r, "methods", None) or ()))
    return router


async def read_body(request: Request, state: AppState, who: Principal, note: AuditNote) -> bytes:
    """The body; a 413 or 415 (answered before anything is parsed) is audited as a refusal."""
    try:
        return await read_json(request, state.settings.max_body_bytes)
    except FhirError as exc:
        await run_in_threadpool(state.refused, who, note, exc)
        raise


def _add_type(router: APIRouter, type_name: str) -> None:
    tags: list[str | Enum] = [type_name]  # as FastAPI types them: a list of names or Enums

    @router.post(
        f"/{type_name}",
        tags=tags,
        summary=f"Create {type_name}",
        openapi_extra=fhir_body(type_name),
        status_code=201,
        responses=fhir_responses(200, *WRITE_ERRORS),
        name=f"create_{type_name}",
    )
    async def create(
        request: Request,
        state: StateDep,
        who: PrincipalDep,
        if_none_exist: Annotated[str | None, Header()] = None,
    ) -> FhirResponse:
        # The search behind a conditional create is recorded with it.
        query = f"If-None-Exist: {if_none_exist}" if if_none_exist else None
        note = AuditNote("create", type_name, query=query)
        await require(state, who, type_name, "create", note)  # before the body is read
        raw = await read_body(request, state, who, note)
        result = await audited_write(
            state,
            who,
            note,
            lambda: resource_service.check_create(type_name, load_json(raw), state.clock()),
            lambda checked: resource_service.ClientWrite(checked, if_none_exist=if_none_exist),
            check_on_loop=len(raw) <= CHECK_ON_LOOP_BYTES,
        )
        return write_response(result, state.fhir_base, may_see_match(who.may, type_name))

    @router.put(
        f"/{type_name}/{{rid}}",
        tags=tags,
        summary=f"Update {type_name}",
        openapi_extra=fhir_body(type_name),
        responses=fhir_responses(201, *WRITE_ERRORS),
        name=f"update_{type_name}",
    )
    async def update(
        rid: str,
        request: Request,
        state: StateDep,
        who: PrincipalDep,
        if_match: Annotated[str | None, Header()] = None,
    ) -> FhirResponse:
        note = AuditNote("update", type_name, [f"{type_name}/{rid}"])
        await require(state, who, type_name, "update", note)  # before the body is read
        raw = await read_body(request, state, who, note)
        version = parse_etag(if_match) if if_match else None
        result = await audited_write(
            state,
            who,
            note,
            lambda: resource_service.check_update(type_name, rid, load_json(raw), state.clock()),
            lambda checked: resource_service.ClientWrite(checked, if_match=version, may=who.may),
            check_on_loop=len(raw) <= CHECK_ON_LOOP_BYTES,
        )
        return write_response(result, state.fhir_base)

    @router.get(
        f"/{type_name}",
        tags=tags,
        summary=f"Search {type_name}",
        openapi_extra=search_params(type_name),
        responses=fhir_responses(*READ_ERRORS),
        name=f"search_{type_name}",
    )
    async def search(
        request: Request,
        state: StateDep,
        who: PrincipalDep,
        prefer: Annotated[str | None, Header()] = None,
    ) -> FhirResponse:
        params = list(request.query_params.multi_items())
        lenient = search_handling(prefer) == "lenient"
        note = AuditNote("search", type_name, query=str(request.query_params))
        settings = state.settings
        body = await audited(
            state,
            who,
            note,
            [(type_name, "search")],
            lambda s: narrowed(
                s,
                who,
                type_name,
                search_service.search(
                    s,
                    type_name,
                    narrow_search(s, who, type_name, params),
                    state.fhir_base,
                    settings.default_page_size,
                    settings.max_page_size,
                    lambda included: who.may(included, "read"),
                    lenient,
                ),
            ),
        )
        return FhirResponse(body)

    @router.get(
        f"/{type_name}/{{rid}}",
        tags=tags,
        summary=f"Read {type_name}",
        responses=fhir_responses(*READ_ERRORS),
        name=f"read_{type_name}",
    )
    async def read(rid: str, state: StateDep, who: PrincipalDep) -> FhirResponse:
        note = AuditNote("read", type_name, [f"{type_name}/{rid}"])
        found = await audited(
            state,
            who,
            note,
            [(type_name, "read")],
            guarded(who, type_name, rid, lambda s: read_service.read(s, type_name, rid)),
        )
        return resource_response(found.content, type_name, rid, found.version, found.last_updated)

    @router.get(
        f"/{type_name}/{{rid}}/_history",
        tags=tags,
        summary=f"History of a {type_name}",
        responses=fhir_responses(*READ_ERRORS),
        name=f"history_{type_name}",
    )
    async def history(rid: str, state: StateDep, who: PrincipalDep) -> FhirResponse:
        note = AuditNote("history", type_name, [f"{type_name}/{rid}"])
        body = await audited(
            state,
            who,
            note,
            [(type_name, "history")],
            guarded(
                who,
                type_name,
                rid,
                lambda s: read_service.history(
                    s, type_name, rid, state.fhir_base, state.settings.max_page_size
                ),
            ),
        )
        return FhirResponse(body)

    @router.get(
        f"/{type_name}/{{rid}}/_history/{{vid}}",
        tags=tags,
        summary=f"Read one version of a {type_name}",
        responses=fhir_responses(*READ_ERRORS),
        name=f"vread_{type_name}",
    )
    async def vread(rid: str, vid: str, state: StateDep, who: PrincipalDep) -> FhirResponse:
        note = AuditNote("vread", type_name, [f"{type_name}/{rid}"])
        found = await audited(
            state,
            who,
            note,
            [(type_name, "vread")],
            guarded(who, type_name, rid, lambda s: read_service.vread(s, type_name, rid, vid)),
        )
        return resource_response(found.content, type_name, rid, found.version, found.last_updated)
