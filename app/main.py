"""The application factory."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import Depends, FastAPI

from app.api.access_log import AccessLog
from app.api.audit_routes import router as audit_router
from app.api.auth_routes import router as auth_router
from app.api.codesystem_routes import router as codesystem_router
from app.api.errors import install_error_handlers
from app.api.family_admin_routes import router as family_admin_router
from app.api.fhir_routes import VERSION, build_router
from app.api.health import router as health_router
from app.api.import_routes import router as import_router
from app.api.metrics import Metrics, count_statements
from app.api.metrics import router as metrics_router
from app.api.nurse_routes import router as nurse_router
from app.api.openapi_docs import add_security
from app.api.query_guard import query_shape
from app.api.rules_routes import router as rules_router
from app.api.subscription_routes import router as subscription_router
from app.runtime import AppState, build_state, settle_heap
from app.settings import Settings
from app.ui.setup import install_ui

log = logging.getLogger("wnb")


def create_app(settings: Settings | None = None, state: AppState | None = None) -> FastAPI:
    """The ASGI app. Nothing connects or loads until this is called."""
    settings = settings or (state.settings if state else Settings())

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        if state is None:
            if app.state.wnb.group is not None:
                # Every request is answered by now; a thread, so the loop never waits on one.
                await asyncio.to_thread(app.state.wnb.group.close)
            app.state.wnb.engine.dispose()

    app = FastAPI(
        title="wnb",
        version=VERSION,
        lifespan=lifespan,
        dependencies=[Depends(query_shape)],
        description="Was Not Brought: FHIR R4 ingest of children's appointment "
        "outcomes, coded for safeguarding.",
    )
    app.state.wnb = state or build_state(settings)
    if app.state.wnb.secret_file is not None:
        log.warning(
            "WNB_SECRET_KEY is not set: tokens are signed with the development secret kept in "
            "%s; set WNB_SECRET_KEY outside development",
            app.state.wnb.secret_file,
        )
    if app.state.wnb.audit_keys.current is None:
        log.warning(
            "WNB_AUDIT_KEY is not set: the audit chain is sealed with plain SHA-256, which "
            "anyone who can write the database can rebuild; set it outside development"
        )
    install_error_handlers(app)
    app.state.metrics = Metrics()
    # The access log answers an unhandled exception with a 500 and adds the security headers
    # to every response, that 500 included (one middleware layer for both).
    app.add_middleware(AccessLog, metrics=app.state.metrics, hsts=not settings.is_development)
    count_statements(app.state.wnb.engine)
    # Routing tries each route in turn (twice over for an included router), so the routers
    # that sources write to every second come first: the FHIR types' paths are literal and
    # overlap no other router's.
    app.include_router(build_router())
    app.include_router(health_router)
    app.include_router(metrics_router)
    app.include_router(auth_router)
    app.include_router(audit_router)
    app.include_router(subscription_router)
    app.include_router(import_router)
    app.include_router(codesystem_router)
    app.include_router(rules_router)
    app.include_router(family_admin_router)
    app.include_router(nurse_router)
    install_ui(app)
    original = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = add_security(original())
        return app.openapi_schema

    # FastAPI's documented way to extend the schema is to replace this method on the app.
    app.openapi = openapi  # type: ignore[method-assign]
    return app


def create_served_app() -> FastAPI:
    """`create_app` for a process that serves (uvicorn's factory with several workers): the
    start-up heap frozen once the app is made (`runtime.settle_heap`)."""
    app = create_app()
    settle_heap()
    return app
