"""The one way a version of a resource is stored, whoever writes it: ingest for what sources
send (FHIR REST, HL7 v2 and bulk imports all come through it), and reconciliation and the
nurse's review for the service's own Flags.

A stored version is its current row, its history rows, its search values and its identity
keys. Each of those is one statement for all the versions given, and the only thing read back
is a new resource's key, so a caller may send the whole store in one pipeline
(`app.store.bulk.pipelined`). An update's search values and identity keys are written again
only when the writer says they changed: a Flag's evidence grows without changing what it is
found by, and a stale version keeps what the current one has."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from app.fhir.index import index_values, sort_date
from app.store import events_repo, resources_repo
from app.store.resources_repo import IdentityTuple


@dataclasses.dataclass(frozen=True, slots=True)
class StoredVersion:
    """One version to store of one resource.

    `data` is the resource the current row's sort date is drawn from and `content` what is
    served; `earlier` are versions kept in history before it (a stale version's sent
    content). `indexed` is the resource whose search values are written and `keys` its
    identity keys (`app.fhir.identity.identity_keys`); None keeps what an update has stored.
    A new resource (`pk` None) with `indexed` None has no search values."""

    type: str
    id: str
    version: int
    content: str
    data: dict[str, Any]
    patient_id: str | None
    at: datetime
    pk: int | None = None
    earlier: tuple[tuple[int, str], ...] = ()
    indexed: dict[str, Any] | None = None
    keys: tuple[IdentityTuple, ...] | None = None

    def row(self) -> dict[str, Any]:
        """The current row."""
        return {
            "type": self.type,
            "id": self.id,
            "version": self.version,
            "last_updated": self.at,
            "sort_date": sort_date(self.data),
            "patient_id": self.patient_id,
            "content": self.content,
        }

    def history(self) -> list[dict[str, Any]]:
        """The rows kept in history (`_history`): the first version a create, others updates."""
        return [
            {
                "type": self.type,
                "id": self.id,
                "version": version,
                "last_updated": self.at,
                "method": "POST" if version == 1 else "PUT",
                "content": content,
            }
            for version, content in (*self.earlier, (self.version, self.content))
        ]


def store_versions(
    session: Session,
    versions: Sequence[StoredVersion],
    events: Sequence[tuple[int, dict[str, Any]]] = (),
) -> list[int]:
    """Store `versions` and the coded `events` drawn from them (each with the index of its
    version; its `resource_pk` is filled in here); the stored resource's key of each version,
    in the order given.

    New resources only (a source's POSTs, a Bundle's new appointments): one insert of the
    current rows with everything that goes with them (`resources_repo.insert_new`), one
    statement on PostgreSQL for a few. Otherwise each table in turn."""
    if all(v.pk is None for v in versions):
        return resources_repo.insert_new(
            session,
            [v.row() for v in versions],
            [row for v in versions for row in v.history()],
            [(i, row) for i, v in enumerate(versions) for row in _index_rows(v, None)],
            [(i, row) for i, v in enumerate(versions) for row in _key_rows(v, None)],
            list(events),
        )
    added = iter(
        resources_repo.insert_resources(session, [v.row() for v in versions if v.pk is None])
    )
    pks = [v.pk if v.pk is not None else next(added) for v in versions]
    updated = [(v, pk) for v, pk in zip(versions, pks, strict=True) if v.pk is not None]
    index: list[dict[str, Any]] = []
    keys: list[dict[str, Any]] = []
    for v, pk in zip(versions, pks, strict=True):
        index += _index_rows(v, pk)
        keys += _key_rows(v, pk)
    resources_repo.update_resources(session, [{"pk": pk, **v.row()} for v, pk in updated])
    resources_repo.insert_versions(session, [row for v in versions for row in v.history()])
    resources_repo.replace_values(
        session,
        [pk for v, pk in updated if v.indexed is not None],
        index,
        [pk for v, pk in updated if v.keys is not None],
        keys,
    )
    events_repo.add_events(session, [{**row, "resource_pk": pks[i]} for i, row in events])
    return pks


def _index_rows(v: StoredVersion, pk: int | None) -> list[dict[str, Any]]:
    if v.indexed is None:
        return []
    return [{"resource_pk": pk, "type": v.type, **i.__dict__} for i in index_values(v.indexed)]


def _key_rows(v: StoredVersion, pk: int | None) -> list[dict[str, Any]]:
    return [
        {"type": t, "system": s, "value": value, "scope": scope, "resource_pk": pk}
        for t, s, value, scope in v.keys or ()
    ]
