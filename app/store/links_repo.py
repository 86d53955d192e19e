"""Durable marks for family links that change with time (a carer's or a membership's period
starts or ends) or with the terminology, the merged-record aliases the links state, and the
large families an admin confirmed."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from app.store.models import FamilyLink, FamilyMember, Resource
from app.store.reconcile_models import FamilyConfirmed, LinkDue, PatientAlias
from app.store.reconcile_repo import upsert

MERGE_PREFIX = "same:"  # family_link keys a Patient's `link` states: "same:{merged}|{surviving}"
LINK_SOURCE_TYPES = ("RelatedPerson", "Group")


def set_due(session: Session, due: Mapping[str, datetime | None]) -> None:
    """Each source's next boundary (None: it has none, its mark goes)."""
    gone = sorted(s for s, at in due.items() if at is None)
    if gone:
        session.execute(delete(LinkDue).where(LinkDue.source.in_(gone)))
    rows = [{"source": s, "due_at": at} for s, at in sorted(due.items()) if at is not None]
    if rows:
        statement = upsert(session, LinkDue)
        session.execute(
            statement.on_conflict_do_update(
                index_elements=["source"], set_={"due_at": statement.excluded.due_at}
            ),
            rows,
        )


def claim_due(session: Session, now: datetime, limit: int) -> list[str]:
    """Sources whose boundary has passed, locked so several workers share them out."""
    rows = session.execute(
        select(LinkDue.source)
        .where(LinkDue.due_at <= now)
        .order_by(LinkDue.due_at, LinkDue.source)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    return [s for (s,) in rows]


def mark_every_source(session: Session, now: datetime) -> int:
    """Every carer and household is worked out again at `now`. Returns how many."""
    ids = session.execute(
        select(Resource.type, Resource.id).where(Resource.type.in_(LINK_SOURCE_TYPES))
    ).all()
    sources = [f"{t}/{i}" for t, i in ids]
    for start in range(0, len(sources), 5000):
        set_due(session, dict.fromkeys(sources[start : start + 5000], now))
    return len(sources)


def refresh_aliases(session: Session, patient_ids: Iterable[str]) -> dict[str, str]:
    """The aliases of these patients become what the Patients' `link`s state now, whichever
    side stated them (a merge stated on the surviving record and undone there goes too).
    Returns merged -> surviving for the pairs now stated; two survivors named for one
    record: the smallest id, so every reader agrees."""
    involved = sorted(set(patient_ids))
    if not involved:
        return {}
    session.execute(delete(PatientAlias).where(PatientAlias.patient_id.in_(involved)))
    keys = session.scalars(
        select(FamilyLink.link_key)
        .where(
            FamilyLink.patient_id.in_(involved),
            FamilyLink.link_key.startswith(MERGE_PREFIX, autoescape=True),
        )
        .distinct()
    )
    pairs: dict[str, str] = {}
    for key in keys:
        merged, _, surviving = key.removeprefix(MERGE_PREFIX).partition("|")
        if merged in involved and surviving and surviving < pairs.get(merged, "\uffff"):
            pairs[merged] = surviving
    if pairs:
        session.execute(
            upsert(session, PatientAlias).on_conflict_do_nothing(),
            [{"patient_id": p, "canonical_id": c} for p, c in sorted(pairs.items())],
        )
    return pairs


def aliases_of(session: Session, patient_ids: Iterable[str]) -> dict[str, str]:
    """merged -> surviving for these merged records (one hop)."""
    wanted = sorted(set(patient_ids))
    if not wanted:
        return {}
    rows = session.execute(
        select(PatientAlias.patient_id, PatientAlias.canonical_id).where(
            PatientAlias.patient_id.in_(wanted)
        )
    )
    return {p: c for p, c in rows}


def confirm(session: Session, family_id: str, size: int, by: str, at: datetime) -> None:
    statement = upsert(session, FamilyConfirmed)
    session.execute(
        statement.on_conflict_do_update(
            index_elements=["family_id"],
            set_={
                "size": statement.excluded.size,
                "confirmed_by": statement.excluded.confirmed_by,
                "confirmed_at": statement.excluded.confirmed_at,
            },
        ),
        [{"family_id": family_id, "size": size, "confirmed_by": by, "confirmed_at": at}],
    )


def large_families(session: Session, above: int) -> list[tuple[str, int]]:
    """(family id, members) of every family of more than `above` patients, largest first."""
    size = func.count(FamilyMember.patient_id)
    rows = session.execute(
        select(FamilyMember.family_id, size)
        .group_by(FamilyMember.family_id)
        .having(size > above)
        .order_by(size.desc(), FamilyMember.family_id)
    )
    return [(f, n) for f, n in rows]


def shared_keys(session: Session, family_id: str) -> list[tuple[str, int]]:
    """(link key, patients) of the carer identifiers and households that tie a family
    together, most shared first: what an admin lists in never_link_carers, or confirms."""
    patients = func.count(FamilyLink.patient_id.distinct())
    rows = session.execute(
        select(FamilyLink.link_key, patients)
        .join(FamilyMember, FamilyMember.patient_id == FamilyLink.patient_id)
        .where(FamilyMember.family_id == family_id)
        .group_by(FamilyLink.link_key)
        .having(patients > 1)
        .order_by(patients.desc(), FamilyLink.link_key)
    )
    return [(k, n) for k, n in rows]


def confirmations(session: Session, family_ids: Iterable[str]) -> dict[str, FamilyConfirmed]:
    wanted = sorted(set(family_ids))
    if not wanted:
        return {}
    rows = session.scalars(select(FamilyConfirmed).where(FamilyConfirmed.family_id.in_(wanted)))
    return {r.family_id: r for r in rows}
