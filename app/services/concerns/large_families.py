"""Families too large to be one family: an unlisted shared carer identifier (a foster
agency, a residential home, a placeholder number) ties unrelated children together, and
family-wnb would fire across all of them. Above `WNB_FAMILY_ALERT_SIZE` patients a family's
family-level rules are held (its children's own rules still run), an operator alert is
logged and counted in `/metrics`, and admins see it here until they confirm the family or
list the identifier in `never_link_carers` (which splits it)."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from app.auth.principal import Principal
from app.fhir.errors import FhirError
from app.services.common.answer import Answer
from app.services.common.unit_of_work import touch
from app.store import family_repo, links_repo

log = logging.getLogger("wnb.families")


def held(session: Session, members: Mapping[str, Sequence[str]], limit: int | None) -> set[str]:
    """The families among `members` whose family-level rules are held: above `limit`
    patients and not confirmed by an admin at (at least) their present size."""
    if limit is None:
        return set()
    large = {f: len(ps) for f, ps in members.items() if len(ps) > limit}
    if not large:
        return set()
    confirmed = links_repo.confirmations(session, large)
    out = {f for f, n in large.items() if f not in confirmed or confirmed[f].size < n}
    for family_id in sorted(out):
        # Ids and counts only: no personal data.
        log.warning(
            "family %s has %d patients, more than WNB_FAMILY_ALERT_SIZE (%d): its family "
            "rules are held until an admin confirms it or lists its shared identifier",
            family_id,
            large[family_id],
            limit,
        )
    return out


def held_count(session: Session, limit: int) -> int:
    """How many families are held now (the operator alert's gauge)."""
    large = links_repo.large_families(session, limit)
    confirmed = links_repo.confirmations(session, [f for f, _ in large])
    return sum(1 for f, n in large if f not in confirmed or confirmed[f].size < n)


def listing(session: Session, limit: int) -> Answer[dict[str, Any]]:
    """Every family above the alert size, held or confirmed, with what ties it together."""
    large = links_repo.large_families(session, limit)
    confirmed = links_repo.confirmations(session, [f for f, _ in large])
    families = []
    for family_id, size in large:
        done = confirmed.get(family_id)
        families.append(
            {
                "family": family_id,
                "size": size,
                "held": done is None or done.size < size,
                "confirmed": None
                if done is None
                else {
                    "by": done.confirmed_by,
                    "at": done.confirmed_at.isoformat(),
                    "size": done.size,
                },
                "shared": [
                    {"key": key, "patients": n}
                    for key, n in links_repo.shared_keys(session, family_id)
                ],
            }
        )
    members = family_repo.members(session, [f for f, _ in large])
    refs = sorted({f"Patient/{p}" for ps in members.values() for p in ps})
    return Answer({"alert_size": limit, "families": families}, refs)


def confirm(
    session: Session, who: Principal, family_id: str, limit: int, now: datetime
) -> Answer[dict[str, Any]]:
    """An admin's word that the family is one family: its family rules run again (its
    members are marked for reconciliation). A family that later grows asks again."""
    members = family_repo.members(session, [family_id]).get(family_id) or []
    if not members:
        raise FhirError.one(404, "not-found", f"No family {family_id}.", "family_id")
    if len(members) <= limit:
        raise FhirError.one(
            409,
            "business-rule",
            f"Family {family_id} has {len(members)} patients, not more than the alert size "
            f"({limit}): its rules are not held.",
            "family_id",
        )
    links_repo.confirm(session, family_id, len(members), f"{who.kind}/{who.id}", now)
    touch(session, members)  # the write's reconciliation judges the family again
    return Answer(
        {"family": family_id, "size": len(members), "held": False},
        [f"Patient/{p}" for p in members],
    )
