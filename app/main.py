"""The application factory."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from app.api.errors import install_error_handlers
from app.api.fhir_routes import VERSION, build_router
from app.api.health import router as health_router
from app.runtime import AppState, build_state
from app.settings import Settings


def create_app(settings: Settings | None = None, state: AppState | None = None) -> FastAPI:
    """The ASGI app. Nothing connects or loads until this is called."""
    settings = settings or (state.settings if state else Settings())

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        if state is None:
            app.state.wnb.engine.dispose()

    app = FastAPI(
        title="wnb",
        version=VERSION,
        lifespan=lifespan,
        description="Was Not Brought: FHIR R4 ingest of children's appointment "
        "outcomes, coded for safeguarding.",
    )
    app.state.wnb = state or build_state(settings)
    install_error_handlers(app)
    app.include_router(health_router)
    app.include_router(build_router())
    return app
