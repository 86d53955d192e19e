"""Duplicate keys in a JSON object. orjson (like most parsers) keeps the last of them silently,
so `{"status": "noshow", ..., "status": "fulfilled"}` would be stored as attended while a
proxy, a log or the sender's own audit that reads the first says a miss was sent. The JSON
specification leaves the meaning to the reader; FHIR's JSON rules forbid it; we refuse it.

orjson cannot report them, so the body is decoded a second time by the standard library's C
scanner with a hook that compares each object's pairs with the dict they make: about 11 µs
for a 1.5 KB Appointment, a quarter of what orjson plus the other checks cost
(`bench/duplicate_keys_bench.py`; counting colons outside strings with a regex and the keys
orjson kept cost three times as much). Only a body that holds a duplicate is walked again to
name where."""

from __future__ import annotations

import json
from typing import Any


class _Duplicate(Exception):
    pass


def _refuse_twice(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    made = dict(pairs)
    if len(made) != len(pairs):
        raise _Duplicate
    return made


_CHECK = json.JSONDecoder(object_pairs_hook=_refuse_twice)


def duplicate_key_at(body: bytes, where: str) -> str | None:
    """The FHIRPath of the first key held twice by one object (`where` names the root), e.g.
    `Appointment.participant[0].status`; None when every key is unique. `body` must already
    be valid UTF-8 JSON (orjson decoded it)."""
    text = body.decode()
    try:
        _CHECK.decode(text)
    except _Duplicate:
        return _first_duplicate(text, where)
    return None


class _Twice(dict[str, Any]):
    """An object that held `key` twice: what the slow decode leaves where it found one."""

    def __init__(self, pairs: list[tuple[str, Any]], key: str) -> None:
        super().__init__(pairs)
        self.key = key


def _mark_twice(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    seen: set[str] = set()
    for key, _ in pairs:
        if key in seen:
            return _Twice(pairs, key)
        seen.add(key)
    return dict(pairs)


def _first_duplicate(text: str, where: str) -> str | None:
    stack: list[tuple[Any, str]] = [(json.loads(text, object_pairs_hook=_mark_twice), where)]
    found: list[str] = []
    while stack:
        node, path = stack.pop()
        if isinstance(node, _Twice):
            found.append(f"{path}.{node.key}")
        if isinstance(node, dict):
            stack.extend((v, f"{path}.{k}") for k, v in node.items())
        elif isinstance(node, list):
            stack.extend((v, f"{path}[{i}]") for i, v in enumerate(node))
    # Several duplicates: the smallest path, so the answer never depends on the walk's order.
    return min(found) if found else None
