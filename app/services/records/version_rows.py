"""What a planned version is stored as: its resource version (`resource_store`) and its coded
events' rows. Pure: built from the plan and the write's context, written in bulk by `ingest`."""

from __future__ import annotations

from typing import Any

import orjson

from app.fhir.coding import Outcome
from app.fhir.dates import fhir_instant
from app.fhir.patient_of import patient_of
from app.services.common.resource_store import StoredVersion
from app.services.common.writes import Planned, WriteContext


def stored_version(p: Planned, ctx: WriteContext) -> StoredVersion:
    """How a planned version is stored. A stale version goes into history, and the current
    content follows it, re-stamped as the version after it, keeping its search values and
    identity keys; any other version has its own."""
    if p.stale_of is not None:
        return StoredVersion(
            p.request.type,
            p.id,
            p.version + 1,
            p.current_content,
            p.stale_of,
            patient_of(p.stale_of, p.id),
            ctx.now,
            pk=p.existing_pk,
            earlier=((p.version, p.content),),
        )
    data = p.request.data
    return StoredVersion(
        p.request.type,
        p.id,
        p.version,
        p.content,
        data,
        patient_of(data, p.id),
        ctx.now,
        pk=p.existing_pk,
        indexed=data,
        keys=tuple(p.identity),
    )


def restamped(stored: dict[str, Any], version: int, ctx: WriteContext) -> str:
    """The stored content as a new version: its own codes and source time, a new stamp."""
    meta = {**(stored.get("meta") or {}), "versionId": str(version)}
    meta["lastUpdated"] = fhir_instant(ctx.now)
    return orjson.dumps({**stored, "meta": meta}).decode()


def event_row(p: Planned, o: Outcome, ctx: WriteContext) -> dict[str, Any]:
    """The coded event row of one Patient's outcome of a planned version."""
    return {
        "resource_pk": p.existing_pk,
        "resource_type": p.request.type,
        "resource_id": p.id,
        "child_id": o.child_id,
        "event_at": o.event_at,
        "category": o.category,
        "outcome_system": o.outcome_system,
        "outcome_code": o.outcome_code,
        "is_child": o.is_child,
        "age_days": o.age_days,
        "service_system": o.service_system,
        "service_code": o.service_code,
        "service_key": o.service_key,
        "service_display": o.service_display,
        "organisation": o.organisation,
        "organisation_name": o.organisation_name,
        "source_system": o.source_system,
        "original_codes": orjson.dumps(o.original_codes).decode(),
        "recorded_at": ctx.now,
        "booked_at": o.booked_at,
        "age_uncertain_days": o.age_uncertain_days,
    }
