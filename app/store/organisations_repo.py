"""Queries behind organisation names: the stored Organization resources that answer to a
code (an identifier value or their id)."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.store.models import Resource, SearchIndex


def organizations_by_code(session: Session, codes: Iterable[str]) -> dict[str, list[str]]:
    """The content of each Organization whose identifier value or id is one of `codes`,
    keyed by that code (one query; a code can name more than one resource)."""
    wanted = sorted({c for c in codes if c})
    if not wanted:
        return {}
    by_identifier = (
        select(SearchIndex.code, Resource.content)
        .join(Resource, Resource.pk == SearchIndex.resource_pk)
        .where(
            SearchIndex.type == "Organization",
            SearchIndex.param == "identifier",
            SearchIndex.code.in_(wanted),
        )
    )
    by_id = select(Resource.id, Resource.content).where(
        Resource.type == "Organization", Resource.id.in_(wanted)
    )
    out: dict[str, list[str]] = {}
    for code, content in session.execute(by_identifier.union_all(by_id)):
        out.setdefault(str(code), []).append(content)
    return out
