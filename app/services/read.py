"""Read, vread and history of one resource."""

from __future__ import annotations

from sqlalchemy.orm import Session

from app.fhir import bundles
from app.fhir.errors import FhirError
from app.store import resources_repo
from app.store.models import Resource, ResourceVersion


def read(session: Session, type_name: str, rid: str) -> Resource:
    found = resources_repo.current(session, type_name, rid)
    if found is None:
        raise FhirError.one(404, "not-found", f"{type_name}/{rid} is not known.", f"{type_name}.id")
    return found


def vread(session: Session, type_name: str, rid: str, vid: str) -> ResourceVersion:
    found = resources_repo.version(session, type_name, rid, int(vid)) if vid.isdigit() else None
    if found is None:
        raise FhirError.one(
            404,
            "not-found",
            f"{type_name}/{rid} has no version {vid}.",
            f"{type_name}.meta.versionId",
        )
    return found


def history(session: Session, type_name: str, rid: str, base: str, limit: int) -> bytes:
    read(session, type_name, rid)
    versions = resources_repo.versions_newest_first(session, type_name, rid, limit)
    return bundles.history(
        base, type_name, rid, [(v.version, v.method, v.content) for v in versions]
    )
