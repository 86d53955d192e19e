"""Every route's query string is checked for shape (repeats, values, length) before the route
runs: a search, the worklist and the audit trail alike, whatever the caller may do."""

from __future__ import annotations

from fastapi import Request

from app.fhir.query_shape import QueryLimits, check_query_shape
from app.runtime import AppState


async def query_shape(request: Request) -> None:
    # The raw query string, not `request.url`: building the URL (host header, port, path) for
    # every request cost about 1% of a single POST's CPU, and a POST has no query.
    if not request.scope.get("query_string"):
        return
    state: AppState = request.app.state.wnb
    settings = state.settings
    limits = QueryLimits(
        settings.query_max_repeats, settings.query_max_values, settings.query_max_value_length
    )
    check_query_shape(list(request.query_params.multi_items()), limits)
