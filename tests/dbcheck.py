"""Looking straight at the tables, to prove what a request stored (or did not)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from app.runtime import AppState
from app.store.models import Base, CodedEvent, Resource, ResourceVersion


def count_resources(state: AppState, type_name: str | None = None) -> int:
    query = select(func.count()).select_from(Resource)
    if type_name:
        query = query.where(Resource.type == type_name)
    return state.read(lambda s: s.scalar(query)) or 0


def count_versions(state: AppState, type_name: str) -> int:
    query = (
        select(func.count()).select_from(ResourceVersion).where(ResourceVersion.type == type_name)
    )
    return state.read(lambda s: s.scalar(query)) or 0


def events(state: AppState) -> list[CodedEvent]:
    return list(
        state.read(lambda s: s.scalars(select(CodedEvent).order_by(CodedEvent.event_at)).all())
    )


# The audit trail records refusals too: a refused request adds to it by design.
AUDIT_TABLES = frozenset({"audit_event", "audit_entity"})


def database_digest(state: AppState) -> dict[str, Any]:
    """A fingerprint of every row of every table but the audit trail: equal before and after a
    request only if the request changed nothing (not merely added nothing)."""
    tables = [t.name for t in Base.metadata.sorted_tables if t.name not in AUDIT_TABLES]

    def digest(session: Any) -> dict[str, Any]:
        connection = session.connection()
        if connection.dialect.name == "postgresql":
            # One round trip: each table's rows as text, sorted and hashed by the server.
            parts = " UNION ALL ".join(
                f"SELECT '{name}', (SELECT md5(coalesce(string_agg(t::text, '|' "
                f"ORDER BY t::text), '')) FROM \"{name}\" t)"
                for name in tables
            )
            return dict(connection.exec_driver_sql(parts).all())
        out: dict[str, Any] = {}
        for name in tables:
            rows = connection.exec_driver_sql(f'SELECT * FROM "{name}"').all()
            out[name] = hash(tuple(sorted(repr(tuple(r)) for r in rows)))
        return out

    return state.read(digest)
