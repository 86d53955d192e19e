"""Search and If-None-Exist."""

from __future__ import annotations

from urllib.parse import parse_qsl

from sqlalchemy.orm import Session

from app.fhir import bundles
from app.fhir.errors import FhirError
from app.fhir.search_query import parse_search
from app.services.answer import Answer, references_of
from app.store import search_repo
from app.store.models import Resource


def search(
    session: Session,
    type_name: str,
    params: list[tuple[str, str]],
    base: str,
    default_count: int,
    max_count: int,
) -> Answer:
    """A searchset Bundle for the given query parameters."""
    query = parse_search(type_name, params, default_count, max_count)
    if query.summary_count or query.count == 0:
        total = search_repo.count(session, query)
        return Answer(
            bundles.searchset(base, type_name, params, [], [], total, query.offset, 0, False)
        )
    query.count += 1  # one more than the page tells whether a next page exists
    rows = list(search_repo.search_page(session, query))
    query.count -= 1
    has_more = len(rows) > query.count
    rows = rows[: query.count]
    total = None
    if query.total:
        total = (
            query.offset + len(rows)
            if not has_more and (rows or query.offset == 0)
            else search_repo.count(session, query)
        )
    extra = search_repo.included(session, type_name, query.includes, [r.pk for r in rows])
    body = bundles.searchset(
        base,
        type_name,
        params,
        [(r.id, r.content) for r in rows],
        [(r.type, r.id, r.content) for r in extra],
        total,
        query.offset,
        query.count,
        has_more,
    )
    return Answer(body, references_of([*rows, *extra]))


def count_matches(
    session: Session, type_name: str, query_string: str
) -> tuple[int, Resource | None]:
    """How many resources a conditional create's query matches, and the first of them."""
    params = parse_qsl(query_string.partition("?")[2] or query_string, keep_blank_values=True)
    if not params:
        raise FhirError.one(
            400,
            "invalid",
            "If-None-Exist must hold a search query such as identifier=system|value.",
            "If-None-Exist",
        )
    try:
        query = parse_search(type_name, params, 2, 2)
    except FhirError as exc:
        raise FhirError(exc.status, exc.issues).at("If-None-Exist") from None
    rows = list(search_repo.search_page(session, query))
    return len(rows), (rows[0] if rows else None)
