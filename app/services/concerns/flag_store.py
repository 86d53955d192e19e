"""Storing the FHIR Flags the service itself raises: a short path beside ingest.

The service builds these Flags, so nothing needs resolving, checking or coding: a new Flag is
one row in each table, a new version an update and a version row. Every step is one statement
for all the Flags of a reconciliation (about a third of the general write path's statements).

A new version's search values and identity keys are written again only where they change. A
concern's search values (subject, status, code, category, period, identifier) stay the same
while only its evidence and reasons grow, which is what most misses do; they are compared with
those of the stored version's content, read with the flags' rows, so the comparison costs no
statement, and a Flag whose stored content is not known has its search values written again."""

from __future__ import annotations

from collections import Counter
from contextlib import suppress
from typing import Any

import orjson
from sqlalchemy.orm import Session

from app.fhir.dates import fhir_instant
from app.fhir.identity import identity_keys
from app.fhir.index import index_values, searched_elements
from app.services.common.resource_store import StoredVersion, store_versions
from app.services.common.writes import WriteContext, WriteRequest
from app.store.flags_repo import StoredFlag
from app.store.resources_repo import IdentityTuple


def store_flags(
    session: Session,
    requests: list[WriteRequest],
    ctx: WriteContext,
    known: dict[str, StoredFlag],
) -> dict[str, int]:
    """Write each Flag (`request.id` set) as a new resource or a new version; flag id ->
    the version written. `known` holds the stored Flags, read with the flags' rows under
    their lock; a Flag not in it is new."""
    versions: list[StoredVersion] = []
    for r in requests:
        fid = r.id or ""
        before = known.get(fid)
        version = (before.version if before else 0) + 1
        child = ((r.data.get("subject") or {}).get("reference") or "").partition("/")[2]
        indexed: dict[str, Any] | None = r.data
        keys: tuple[IdentityTuple, ...] | None = None
        if before is None:
            keys = tuple(identity_keys(r.data))
        else:
            old = _stored_searched(before.content) if before.content is not None else None
            if old is not None and _same_search_values(old, r.data):
                indexed = None
            if old is not None and not _same_keys(old, r.data):
                keys = tuple(identity_keys(r.data))
        content = _content(r.data, fid, version, ctx)
        stored = StoredVersion(
            "Flag",
            fid,
            version,
            content,
            r.data,
            child or None,
            ctx.now,
            pk=before.pk if before else None,
            indexed=indexed,
            keys=keys,
        )
        versions.append(stored)
    store_versions(session, versions)
    return {v.id: v.version for v in versions}


def _same_search_values(old: dict[str, Any], new: dict[str, Any]) -> bool:
    """Whether two versions of a Flag have the same search values: at once when the elements
    they are drawn from are equal (new evidence changes none of them), else by drawing those
    of the elements that differ (the code's text, the concern's summary, is in an element
    searched but is not searched)."""
    differ = {k for k in searched_elements("Flag") if old.get(k) != new.get(k)}
    if not differ:
        return True
    return Counter(index_values(old, differ)) == Counter(index_values(new, differ))


def _same_keys(old: dict[str, Any], new: dict[str, Any]) -> bool:
    if old.get("identifier") == new.get("identifier"):
        return True  # a Flag's identity keys are drawn from its identifiers alone
    return identity_keys(old) == identity_keys(new)


def _content(data: dict[str, Any], fid: str, version: int, ctx: WriteContext) -> str:
    """The stored JSON, its extensions (the concern's reasons and evidence, most of it) last:
    the next version reads the elements before them alone (`_stored_searched`)."""
    meta = {"versionId": str(version), "lastUpdated": fhir_instant(ctx.now)}
    body = {k: v for k, v in data.items() if k not in ("resourceType", "id", "meta", EXTENSIONS)}
    if EXTENSIONS in data:
        body[EXTENSIONS] = data[EXTENSIONS]
    return orjson.dumps({"resourceType": "Flag", "id": fid, "meta": meta, **body}).decode()


EXTENSIONS = "extension"
# What the next version compares: the search values' elements, and the identity keys'.
_COMPARED = searched_elements("Flag") | {"identifier"}
_EXTENSIONS_AT = f',"{EXTENSIONS}":['


def _stored_searched(content: str) -> dict[str, Any]:
    """The stored Flag's elements its search values and identity keys are drawn from.

    A concern's Flag is 3-8 kB, nearly all of it its extensions: parsing a 5 kB one whole
    took 7.7 us, the part before its extensions 2.6 us. `_content` writes the extensions last, so
    what precedes them is read alone: cut where the extensions begin, it parses only if the
    cut is at the top level (inside a nested object or array the text left is unbalanced;
    inside a string the quotes would be escaped), and it is used only if it holds every
    searched element. Otherwise (a version written before extensions went last) the whole
    content is parsed, as before."""
    at = content.find(_EXTENSIONS_AT)
    if at > 0:
        with suppress(orjson.JSONDecodeError):
            head = orjson.loads(content[:at] + "}")
            if isinstance(head, dict) and head.keys() >= _COMPARED:
                return head
    found: dict[str, Any] = orjson.loads(content)
    return found
