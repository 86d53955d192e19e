"""Read, vread and history of one resource."""

from __future__ import annotations

import orjson
from sqlalchemy.orm import Session

from app.fhir import bundles
from app.fhir.errors import FhirError
from app.fhir.ids import is_fhir_id
from app.fhir.numbers import whole_number
from app.fhir.patient_of import patient_of
from app.services.common.answer import Answer, references_of
from app.services.common.version import Version
from app.store import resources_repo
from app.store.models import Resource


def read(session: Session, type_name: str, rid: str) -> Answer[Version]:
    current = _current(session, type_name, rid)
    shown = Version(rid, current.version, current.last_updated, current.content)
    return Answer(shown, references_of([current]))


def vread(session: Session, type_name: str, rid: str, vid: str) -> Answer[Version]:
    _current(session, type_name, rid)  # 404 for an unknown resource before any version
    number = whole_number(vid)
    found = resources_repo.version(session, type_name, rid, number) if number else None
    if found is None:
        raise FhirError.one(
            404,
            "not-found",
            f"{type_name}/{rid} has no version {vid}.",
            f"{type_name}.meta.versionId",
        )
    # The patient of the version shown, who may not be the current version's.
    then = patient_of(orjson.loads(found.content), rid)
    refs = sorted({f"{type_name}/{rid}", *([f"Patient/{then}"] if then else [])})
    return Answer(Version(rid, found.version, found.last_updated, found.content), refs)


def history(session: Session, type_name: str, rid: str, base: str, limit: int) -> Answer[bytes]:
    current = _current(session, type_name, rid)
    versions = resources_repo.versions_newest_first(session, type_name, rid, limit)
    body = bundles.history(
        base, type_name, rid, [(v.version, v.method, v.content) for v in versions]
    )
    return Answer(body, references_of([current]))


def _current(session: Session, type_name: str, rid: str) -> Resource:
    # An id no resource can have is simply not known (the same on both databases).
    found = resources_repo.current(session, type_name, rid) if is_fhir_id(rid) else None
    if found is None:
        raise FhirError.one(404, "not-found", f"{type_name}/{rid} is not known.", f"{type_name}.id")
    return found
