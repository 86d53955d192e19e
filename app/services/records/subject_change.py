"""An appointment identifier reused for another child: the new version's coded outcome is the
second child's, and the first child's flags lose the miss. That is an identity change a
person should see: the first child's system review names it (`withdrawal_reasons`), and the
log warns (ids only, never personal data)."""

from __future__ import annotations

import logging
from typing import Any

from app.fhir.patient_of import patient_of
from app.store.models import Resource

log = logging.getLogger("wnb.ingest")


def warn_if_subject_changed(stored: Resource, incoming: dict[str, Any]) -> bool:
    """Log a warning if `incoming` (a new version of `stored`) names another patient."""
    now_for = patient_of(incoming, stored.id)
    if stored.patient_id is None or now_for is None or now_for == stored.patient_id:
        return False
    log.warning(
        "%s/%s was sent again naming another patient: its coded outcome moves to them",
        stored.type,
        stored.id,
    )
    return True
