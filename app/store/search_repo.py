"""The SQL behind FHIR search: each criterion an EXISTS over the search index."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import ColumnElement, and_, exists, false, func, literal, not_, or_, select
from sqlalchemy.orm import Session, aliased

from app.fhir.search_query import Criterion, DateValue, SearchQuery
from app.store.models import IdentityKey, Resource, SearchIndex


def _date_match(lo: Any, hi: Any, v: DateValue) -> ColumnElement[bool]:
    """FHIR date prefixes over a stored range [lo, hi) and a searched range [v.lo, v.hi)."""
    eq = and_(lo >= v.lo, hi <= v.hi)
    return {
        "eq": eq,
        "ne": not_(eq),
        "gt": hi > v.hi,
        "lt": lo < v.lo,
        "ge": or_(hi > v.hi, eq),
        "le": or_(lo < v.lo, eq),
    }[v.prefix]


def _point_match(col: Any, v: DateValue) -> ColumnElement[bool]:
    return (
        _date_match(col, col, DateValue(v.prefix, v.lo, v.hi))
        if v.prefix in ("eq", "ne")
        else {"gt": col >= v.hi, "lt": col < v.lo, "ge": col >= v.lo, "le": col < v.hi}[v.prefix]
    )


def _value_match(c: Criterion, value: object) -> ColumnElement[bool]:
    si = SearchIndex
    if c.kind == "token":
        system, code = value  # type: ignore[misc]
        parts = [si.code == code] if code else []
        if system:
            parts.append(si.system == system)
        return and_(*parts)
    if c.kind == "string":
        text = _like_literal(str(value))
        pattern = f"%{text}%" if c.modifier == "contains" else f"{text}%"
        return si.code.like(pattern, escape="\\")
    if c.kind == "reference" and c.modifier == "identifier":
        return si.code.in_(_targets_by_identifier(c.target or "Patient", value))  # type: ignore[arg-type]
    if c.kind == "reference":
        ref = str(value)
        if "/" in ref:
            return si.code == ref
        if c.target:
            return si.code == f"{c.target}/{ref}"
        return si.code.like(f"%/{_like_literal(ref)}", escape="\\")
    return _date_match(si.date_lo, si.date_hi, value)  # type: ignore[arg-type]


def _like_literal(text: str) -> str:
    """`text` matched literally inside a LIKE pattern: `actor=%` must not match every actor."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _targets_by_identifier(target: str, value: tuple[str | None, str]) -> Any:
    """'Type/id' of the resources carrying an identifier, for `patient:identifier=...`."""
    system, code = value
    owner = aliased(Resource)
    query = (
        select(literal(f"{target}/").concat(owner.id))
        .join(IdentityKey, IdentityKey.resource_pk == owner.pk)
        .where(IdentityKey.type == target, IdentityKey.value == code)
    )
    return query.where(IdentityKey.system == system) if system else query


def _criterion(type_name: str, c: Criterion) -> ColumnElement[bool]:
    if c.kind == "id":
        return Resource.id.in_([str(v) for v in c.values])
    if c.kind == "lastUpdated":
        return _point_match(Resource.last_updated, c.values[0])  # type: ignore[arg-type]
    return exists().where(
        SearchIndex.resource_pk == Resource.pk,
        SearchIndex.type == type_name,
        SearchIndex.param == c.name,
        or_(*[_value_match(c, v) for v in c.values]) if c.values else false(),
    )


def _filtered(query: SearchQuery) -> Any:
    conditions = [Resource.type == query.type] + [_criterion(query.type, c) for c in query.criteria]
    return select(Resource).where(*conditions)


def search_page(session: Session, query: SearchQuery) -> Sequence[Resource]:
    order = []
    for column, desc in query.sort:
        col = getattr(Resource, column)
        order.append(col.desc() if desc else col.asc())
    order.append(Resource.pk.asc())
    stmt = _filtered(query).order_by(*order).offset(query.offset).limit(query.count)
    return session.scalars(stmt).all()


def count(session: Session, query: SearchQuery) -> int:
    sub = _filtered(query).with_only_columns(Resource.pk).subquery()
    return session.scalar(select(func.count()).select_from(sub)) or 0


def included(
    session: Session, type_name: str, params: list[str], pks: list[int]
) -> Sequence[Resource]:
    """Resources that the given reference params of the matched resources point at."""
    if not pks or not params:
        return []
    refs = session.scalars(
        select(SearchIndex.code).where(
            SearchIndex.resource_pk.in_(pks),
            SearchIndex.type == type_name,
            SearchIndex.param.in_(params),
        )
    ).all()
    wanted: dict[str, set[str]] = {}
    for ref in refs:
        target, _, rid = (ref or "").partition("/")
        wanted.setdefault(target, set()).add(rid)
    out: list[Resource] = []
    for target, ids in wanted.items():
        out += session.scalars(
            select(Resource).where(Resource.type == target, Resource.id.in_(ids))
        ).all()
    return out
