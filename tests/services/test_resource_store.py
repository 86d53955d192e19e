"""`store_versions`, the one way a resource version is stored (ingest and the service's own
Flags): a new resource gets its row, history, search values and identity keys; an update
rewrites the search values and identity keys only where it says they changed, and a version
kept in history before the current one (a stale write) is served by `_history`."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.fhir.identity import identity_keys
from app.runtime import AppState
from app.services.common.resource_store import StoredVersion, store_versions
from app.store.models import IdentityKey, Resource, ResourceVersion, SearchIndex
from tests.conftest import FIXED_NOW

SYSTEM = "https://example.org/flag-ids"


def flag(code: str, identifier: str) -> dict[str, Any]:
    return {
        "resourceType": "Flag",
        "status": "active",
        "code": {"coding": [{"system": "https://example.org/codes", "code": code}]},
        "subject": {"reference": "Patient/p-1"},
        "identifier": [{"system": SYSTEM, "value": identifier}],
    }


def version(data: dict[str, Any], v: int, **changes: Any) -> StoredVersion:
    fields: dict[str, Any] = {
        "indexed": data,
        "keys": tuple(identity_keys(data)),
        **changes,
    }
    return StoredVersion("Flag", "f-store", v, f'{{"v":{v}}}', data, "p-1", FIXED_NOW, **fields)


def stored(s: Session, pk: int) -> tuple[Any, ...]:
    row = s.get(Resource, pk)
    assert row is not None
    history = s.scalars(
        select(ResourceVersion.version)
        .where(ResourceVersion.type == "Flag", ResourceVersion.id == "f-store")
        .order_by(ResourceVersion.version)
    ).all()
    codes = sorted(
        i.code or ""
        for i in s.scalars(select(SearchIndex).where(SearchIndex.resource_pk == pk))
        if i.param == "code"
    )
    keys = sorted(
        k.value for k in s.scalars(select(IdentityKey).where(IdentityKey.resource_pk == pk))
    )
    return row.version, row.content, list(history), codes, keys


def test_a_version_stores_what_it_says_changed(state: AppState) -> None:
    first = flag("a", "id-1")

    def run(s: Session) -> list[tuple[Any, ...]]:
        [pk] = store_versions(s, [version(first, 1)])
        seen = [stored(s, pk)]
        # Search values kept (indexed None), identity keys replaced.
        assert store_versions(s, [version(flag("b", "id-2"), 2, pk=pk, indexed=None)]) == [pk]
        seen.append(stored(s, pk))
        # Identity keys kept (keys None), search values replaced.
        store_versions(s, [version(flag("c", "id-3"), 3, pk=pk, keys=None)])
        seen.append(stored(s, pk))
        # A stale write: version 4 goes into history, the current content is version 5.
        store_versions(
            s, [version(first, 5, pk=pk, indexed=None, keys=None, earlier=((4, '{"v":4}'),))]
        )
        seen.append(stored(s, pk))
        return seen

    seen = state.write(run)
    assert seen == [
        (1, '{"v":1}', [1], ["a"], ["id-1"]),
        (2, '{"v":2}', [1, 2], ["a"], ["id-2"]),
        (3, '{"v":3}', [1, 2, 3], ["c"], ["id-2"]),
        (5, '{"v":5}', [1, 2, 3, 4, 5], ["c"], ["id-2"]),
    ]
