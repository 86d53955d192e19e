"""The rows one stored version of a resource is kept as, whoever writes it (ingest for what
sources send, reconciliation for the service's own Flags): its resource row, its version row,
its search values and its identity keys. Pure; the repositories write them in bulk
(`resources_repo`)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from app.fhir.index import index_values, sort_date

IdentityKey = tuple[str, str, str, str]  # (type, system, value, scope)


def resource_row(
    type_name: str,
    rid: str,
    version: int,
    now: datetime,
    data: dict[str, Any],
    content: str,
    patient_id: str | None,
) -> dict[str, Any]:
    """The current version's row (`data` gives its sort date; `content` is what is served)."""
    return {
        "type": type_name,
        "id": rid,
        "version": version,
        "last_updated": now,
        "sort_date": sort_date(data),
        "patient_id": patient_id,
        "content": content,
    }


def version_row(
    type_name: str, rid: str, version: int, now: datetime, content: str
) -> dict[str, Any]:
    """A version kept in history (`_history`): the first is a create, the others updates."""
    return {
        "type": type_name,
        "id": rid,
        "version": version,
        "last_updated": now,
        "method": "POST" if version == 1 else "PUT",
        "content": content,
    }


def index_rows(pk: int, type_name: str, data: dict[str, Any]) -> list[dict[str, Any]]:
    """The search values of the resource stored under `pk`."""
    return [{"resource_pk": pk, "type": type_name, **v.__dict__} for v in index_values(data)]


def key_rows(pk: int, keys: Iterable[IdentityKey]) -> list[dict[str, Any]]:
    """The identity keys (`app.fhir.identity.identity_keys`) of the resource under `pk`."""
    return [
        {"type": t, "system": s, "value": v, "scope": sc, "resource_pk": pk} for t, s, v, sc in keys
    ]
