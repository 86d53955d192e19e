"""Search and If-None-Exist."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qsl

from sqlalchemy.orm import Session

from app.fhir import bundles
from app.fhir.errors import FhirError, Issue, operation_outcome
from app.fhir.search_query import parse_search
from app.services.common.answer import Answer, references_of
from app.store import search_repo
from app.store.models import Resource


def search(
    session: Session,
    type_name: str,
    params: list[tuple[str, str]],
    base: str,
    default_count: int,
    max_count: int,
    may_read: Callable[[str], bool] = lambda _type: True,
    lenient: bool = False,
) -> Answer[bytes]:
    """A searchset Bundle for the given query parameters. Resources added by `_include` are
    only those of types `may_read` allows: a search scope on one type is no read scope on the
    types it points at. `lenient`: unknown parameters are ignored and named in the Bundle."""
    query = parse_search(type_name, params, default_count, max_count, lenient)
    used = [(k, v) for k, v in params if k not in query.ignored]
    outcome = _ignored_outcome(query.ignored)
    if query.summary_count or query.count == 0:
        found = search_repo.count(session, query)
        return Answer(
            bundles.searchset(
                base, type_name, used, [], [], found, query.offset, 0, False, outcome
            )
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
    extra = [
        r
        for r in search_repo.included(session, type_name, query.includes, [r.pk for r in rows])
        if may_read(r.type)
    ]
    body = bundles.searchset(
        base,
        type_name,
        used,
        [(r.id, r.content) for r in rows],
        [(r.type, r.id, r.content) for r in extra],
        total,
        query.offset,
        query.count,
        has_more,
        outcome,
    )
    return Answer(body, references_of([*rows, *extra]))


def _ignored_outcome(ignored: list[str]) -> dict[str, Any] | None:
    if not ignored:
        return None
    return operation_outcome(
        [
            Issue(
                "not-supported",
                f"Search parameter {name!r} is not supported and was ignored "
                "(Prefer: handling=lenient).",
                name,
                "warning",
            )
            for name in ignored
        ]
    )


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
