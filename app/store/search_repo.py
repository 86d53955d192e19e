"""The SQL behind FHIR search: each criterion an EXISTS over the search index."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import ColumnElement, Select, and_, exists, false, func, literal, not_, or_, select
from sqlalchemy.orm import QueryableAttribute, Session, aliased

from app.fhir.index import stored_params
from app.fhir.search_query import Criterion, DateValue, SearchQuery, SearchValue, Token
from app.store.models import IdentityKey, Resource, SearchIndex

# A stored instant column: a [lo, hi) bound of the index, or a resource's last update.
Instant = QueryableAttribute[datetime | None]


def _date_match(lo: Instant, hi: Instant, v: DateValue) -> ColumnElement[bool]:
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


def _point_match(col: Instant, v: DateValue) -> ColumnElement[bool]:
    return (
        _date_match(col, col, DateValue(v.prefix, v.lo, v.hi))
        if v.prefix in ("eq", "ne")
        else {"gt": col >= v.hi, "lt": col < v.lo, "ge": col >= v.lo, "le": col < v.hi}[v.prefix]
    )


def _value_match(c: Criterion, value: SearchValue) -> ColumnElement[bool]:
    si = SearchIndex
    if isinstance(value, DateValue):
        return _date_match(si.date_lo, si.date_hi, value)
    if isinstance(value, tuple):
        if c.kind == "reference":  # :identifier
            return si.code.in_(_targets_by_identifier(c.target or "Patient", value))
        system, code = value
        parts = [si.code == code] if code else []
        if system:
            parts.append(si.system == system)
        return and_(*parts)
    if c.kind == "string":
        text = _like_literal(value)
        pattern = f"%{text}%" if c.modifier == "contains" else f"{text}%"
        return si.code.like(pattern, escape="\\")
    # A reference: "Type/id", or an id of the parameter's target type (any type without one).
    if "/" in value:
        return si.code == value
    if c.target:
        return si.code == f"{c.target}/{value}"
    return si.code.like(f"%/{_like_literal(value)}", escape="\\")


def _like_literal(text: str) -> str:
    """`text` matched literally inside a LIKE pattern: `actor=%` must not match every actor."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _targets_by_identifier(target: str, value: Token) -> Select[str]:
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
    if c.kind == "lastUpdated" and isinstance(when := c.values[0], DateValue):
        return _point_match(Resource.last_updated, when)
    return exists().where(
        SearchIndex.resource_pk == Resource.pk,
        SearchIndex.type == type_name,
        SearchIndex.param.in_(stored_params(type_name, c.name)),
        or_(*[_value_match(c, v) for v in c.values]) if c.values else false(),
    )


def _filtered(query: SearchQuery) -> Select[Resource]:
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
            SearchIndex.param.in_({p for name in params for p in stored_params(type_name, name)}),
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
