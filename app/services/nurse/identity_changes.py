"""A child's birth date or NHS number changing is itself a safeguarding fact (a mistaken
merge, a record taken over): each change becomes a chronology item naming who wrote it."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Literal

import orjson

from app.fhir.nhs_number import NHS_NUMBER_SYSTEM
from app.fhir.written_by import author_of
from app.services.nurse.shapes.chronology import IdentityItem
from app.store.models import ResourceVersion


def identity_items(versions: Sequence[ResourceVersion]) -> list[IdentityItem]:
    """`versions`: Patient versions, each patient's in version order."""
    out: list[IdentityItem] = []
    previous: dict[str, dict[str, Any]] = {}
    for v in versions:
        data = orjson.loads(v.content)
        before = previous.get(v.id)
        previous[v.id] = data
        if before is None:
            continue
        for changed, read in READERS:
            old, new = read(before), read(data)
            if old != new:
                out.append(
                    IdentityItem(
                        at=v.last_updated,
                        kind="identity-change",
                        child_id=v.id,
                        carer=None,
                        changed=changed,
                        before=old,
                        after=new,
                        version=v.version,
                        written_by=author_of(data),
                        source=(data.get("meta") or {}).get("source"),
                    )
                )
    return out


def _birth_date(data: dict[str, Any]) -> str | None:
    return data.get("birthDate")


def _nhs_number(data: dict[str, Any]) -> str | None:
    for ident in data.get("identifier") or []:
        if isinstance(ident, dict) and ident.get("system") == NHS_NUMBER_SYSTEM:
            return str(ident.get("value"))
    return None


Changed = Literal["birth-date", "nhs-number"]
READERS: tuple[tuple[Changed, Callable[[dict[str, Any]], str | None]], ...] = (
    ("birth-date", _birth_date),
    ("nhs-number", _nhs_number),
)
