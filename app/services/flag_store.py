"""Storing the FHIR Flags the service itself raises: a short path beside ingest.

The service builds these Flags, so nothing needs resolving, checking or coding: a new Flag is
one row in each table, a new version an update, a version row and fresh search values. Every
step is one statement for all the Flags of a reconciliation (about a third of the general
write path's statements)."""

from __future__ import annotations

from typing import Any

import orjson
from sqlalchemy.orm import Session

from app.fhir.dates import fhir_instant
from app.fhir.identity import identity_keys
from app.fhir.index import index_values, sort_date
from app.services.writes import WriteContext, WriteRequest
from app.store import resources_repo


def store_flags(
    session: Session,
    requests: list[WriteRequest],
    ctx: WriteContext,
    known: dict[str, tuple[int, int]],
) -> dict[str, int]:
    """Write each Flag (`request.id` set) as a new resource or a new version; flag id ->
    the version written. `known` holds the stored Flags (id -> (pk, version)), read with the
    flags' rows under their lock; a Flag not in it is new."""
    new, updated, versions, index, keys = [], [], [], [], []
    written: dict[str, int] = {}
    for r in requests:
        fid = r.id or ""
        pk, version = known.get(fid, (None, 0))
        version += 1
        content = _content(r.data, fid, version, ctx)
        child = ((r.data.get("subject") or {}).get("reference") or "").partition("/")[2]
        row: dict[str, Any] = {  # column -> value, as the repository writes rows
            "type": "Flag",
            "id": fid,
            "version": version,
            "last_updated": ctx.now,
            "sort_date": sort_date(r.data),
            "patient_id": child or None,
            "content": content,
        }
        if pk is None:
            new.append((r, row))
        else:
            updated.append({"pk": pk, **row})
        versions.append(
            {
                "type": "Flag",
                "id": fid,
                "version": version,
                "last_updated": ctx.now,
                "method": "POST" if version == 1 else "PUT",
                "content": content,
            }
        )
        written[fid] = version
    pks = resources_repo.insert_resources(session, [row for _, row in new])
    for (r, _), pk in zip(new, pks, strict=True):
        keys += [
            {"type": t, "system": s, "value": v, "scope": sc, "resource_pk": pk}
            for t, s, v, sc in identity_keys(r.data)
        ]
    resources_repo.update_resources(session, updated)
    resources_repo.insert_versions(session, versions)
    by_id = {row["id"]: pk for (_, row), pk in zip(new, pks, strict=True)}
    by_id.update({row["id"]: row["pk"] for row in updated})
    for r in requests:
        index += [
            {"resource_pk": by_id[r.id or ""], "type": "Flag", **v.__dict__}
            for v in index_values(r.data)
        ]
    resources_repo.replace_search_values(session, [row["pk"] for row in updated], index)
    resources_repo.replace_index(session, [], [], keys)
    return written


def _content(data: dict[str, Any], fid: str, version: int, ctx: WriteContext) -> str:
    meta = {"versionId": str(version), "lastUpdated": fhir_instant(ctx.now)}
    body = {k: v for k, v in data.items() if k not in ("resourceType", "id", "meta")}
    return orjson.dumps({"resourceType": "Flag", "id": fid, "meta": meta, **body}).decode()
