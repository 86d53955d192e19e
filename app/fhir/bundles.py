"""Bundles the server returns, assembled from stored JSON text without re-serialising it."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

import orjson

from app.fhir.dates import fhir_instant


def searchset(
    base: str,
    type_name: str,
    params: list[tuple[str, str]],
    matches: list[tuple[str, str]],
    included: list[tuple[str, str, str]],
    total: int | None,
    offset: int,
    count: int,
    has_more: bool,
    outcome: dict[str, Any] | None = None,
) -> bytes:
    """`matches`: (id, json); `included`: (type, id, json); `outcome`: an OperationOutcome
    about the search itself (parameters ignored), sent as an entry with search.mode outcome."""
    links = [_link("self", base, type_name, params, offset, count)]
    if has_more:
        links.append(_link("next", base, type_name, params, offset + count, count))
    if offset > 0:
        links.append(_link("previous", base, type_name, params, max(0, offset - count), count))
    entries = [_entry(f"{base}/{type_name}/{rid}", content, "match") for rid, content in matches]
    entries += [_entry(f"{base}/{t}/{rid}", content, "include") for t, rid, content in included]
    if outcome is not None:
        entries.append(
            b'{"resource":' + orjson.dumps(outcome) + b',"search":{"mode":"outcome"}}'
        )
    head: dict[str, object] = {
        "resourceType": "Bundle",
        "type": "searchset",
        "timestamp": fhir_instant(datetime.now(UTC)),
    }
    if total is not None:
        head["total"] = total
    head["link"] = links
    return _with_entries(head, entries)


def history(base: str, type_name: str, rid: str, versions: list[tuple[int, str, str]]) -> bytes:
    """`versions`: (version, method, json), newest first."""
    entries = [
        b'{"fullUrl":'
        + orjson.dumps(f"{base}/{type_name}/{rid}")
        + b',"resource":'
        + content.encode()
        + b',"request":'
        + orjson.dumps(
            {"method": method, "url": f"{type_name}/{rid}" if method != "POST" else type_name}
        )
        + b',"response":'
        + orjson.dumps({"status": "201" if method == "POST" else "200"})
        + b"}"
        for _, method, content in versions
    ]
    head = {"resourceType": "Bundle", "type": "history", "total": len(versions)}
    return _with_entries(head, entries)


def _entry(full_url: str, content: str, mode: str) -> bytes:
    return (
        b'{"fullUrl":'
        + orjson.dumps(full_url)
        + b',"resource":'
        + content.encode()
        + b',"search":{"mode":"'
        + mode.encode()
        + b'"}}'
    )


def _with_entries(head: dict[str, object], entries: list[bytes]) -> bytes:
    if not entries:
        return orjson.dumps(head)
    return orjson.dumps(head)[:-1] + b',"entry":[' + b",".join(entries) + b"]}"


def _link(
    relation: str, base: str, type_name: str, params: list[tuple[str, str]], offset: int, count: int
) -> dict[str, str]:
    kept = [(k, v) for k, v in params if k not in ("_offset", "_count")]
    kept += [("_count", str(count))] + ([("_offset", str(offset))] if offset else [])
    return {"relation": relation, "url": f"{base}/{type_name}?{urlencode(kept)}"}
