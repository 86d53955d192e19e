"""Every route's query string is checked for shape (repeats, values, length) before the route
runs: a search, the worklist and the audit trail alike, whatever the caller may do."""

from __future__ import annotations

from fastapi import Request

from app.fhir.query_shape import QueryLimits, check_query_shape
from app.runtime import AppState


async def query_shape(request: Request) -> None:
    if not request.url.query:
        return
    state: AppState = request.app.state.wnb
    settings = state.settings
    limits = QueryLimits(
        settings.query_max_repeats, settings.query_max_values, settings.query_max_value_length
    )
    check_query_shape(list(request.query_params.multi_items()), limits)
