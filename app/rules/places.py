"""Whether two events are of one service when one of them is known only by its organisation.

An event whose service key comes from its organisation alone (a DNA Observation with only a
performer, an Appointment with no service coding) says where it happened, not which clinic:
it matches any event at that organisation, for rebooking and for "the same miss" (hazard log
H-03, H-05). Two named services never match each other through their organisation: one trust
runs many clinics.
"""

from __future__ import annotations

from app.fhir.service_key import ORG_PREFIX
from app.rules.model import EventView


def organisation_only(key: str | None) -> bool:
    """Whether a service key names only an organisation."""
    return key is not None and key.startswith(ORG_PREFIX)


def same_service(a: EventView, b: EventView) -> bool:
    """One known service: the same key, or one known only by the organisation the other
    happened at. An unknown service matches nothing."""
    if a.service_key is None or b.service_key is None:
        return False
    if a.service_key == b.service_key:
        return True
    return (organisation_only(a.service_key) and a.service_key == b.place) or (
        organisation_only(b.service_key) and b.service_key == a.place
    )
