"""Which stored Patient a message's PID (or MRG) names, and the merge an A40 states."""

from __future__ import annotations

from typing import Any

import orjson
from sqlalchemy.orm import Session

from app.fhir.identity import identity_keys
from app.fhir.nhs_number import NHS_NUMBER_SYSTEM
from app.hl7.errors import UNKNOWN_KEY, Hl7Error
from app.services.common.writes import WriteRequest
from app.store import resources_repo
from app.store.models import Resource


def stored_patient(session: Session, identifiers: list[dict[str, Any]]) -> Resource | None:
    """The stored Patient carrying these identifiers: the one with the NHS number when two
    records carry different ones of them, else any."""
    keys = identity_keys({"resourceType": "Patient", "identifier": identifiers})
    owners = resources_repo.identity_owners(session, keys)
    if not owners:
        return None
    nhs = [pk for key, pk in owners.items() if key[1] == NHS_NUMBER_SYSTEM]
    pk = nhs[0] if nhs else min(owners.values())
    return resources_repo.by_pks_for_update(session, [pk]).get(pk)


def merge_request(
    session: Session, survivor_ids: list[dict[str, Any]], prior_ids: list[dict[str, Any]]
) -> WriteRequest:
    """A40: the prior record, as stored, linked `replaced-by` the survivor. The survivor is
    left as it is; the service's merge handling (`Patient.link` on either record) does the
    rest, as it does for a link sent over FHIR."""
    survivor = stored_patient(session, survivor_ids)
    if survivor is None:
        raise Hl7Error("AE", "PID", 3, UNKNOWN_KEY, "the surviving patient is not stored here")
    prior = stored_patient(session, prior_ids)
    if prior is None:
        raise Hl7Error("AE", "MRG", 1, UNKNOWN_KEY, "the prior patient is not stored here")
    if prior.pk == survivor.pk:
        raise Hl7Error("AE", "MRG", 1, UNKNOWN_KEY, "names the surviving patient's own record")
    data = {k: v for k, v in orjson.loads(prior.content).items() if k != "meta"}
    target = f"Patient/{survivor.id}"
    links = [
        link
        for link in data.get("link", [])
        if (link.get("other") or {}).get("reference") != target
    ]
    data["link"] = [*links, {"other": {"reference": target}, "type": "replaced-by"}]
    return WriteRequest(type="Patient", data=data, id=prior.id, where="Patient")
