"""Looking straight at the tables, to prove what a request stored (or did not)."""

from __future__ import annotations

from sqlalchemy import func, select

from app.runtime import AppState
from app.store.models import CodedEvent, Resource, ResourceVersion


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
