"""Queries over families: members, the links between patients, and the per-family lock."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

from sqlalchemy import Row, delete, insert, select, text, update
from sqlalchemy.orm import Session

from app.store.models import Family, FamilyLink, FamilyMember, Resource
from app.store.prebuilt import Prebuilt
from app.store.reconcile_models import PatientAlias

# Every write that touches a family runs these two: built once, run on the connection.
_LOCK_FAMILIES_OF = Prebuilt(
    lambda one_of: (
        select(FamilyMember.patient_id, FamilyMember.family_id)
        .join(Family, Family.family_id == FamilyMember.family_id)
        .where(one_of(FamilyMember.patient_id, "ids"))
        .order_by(Family.family_id)
        .with_for_update(of=Family)
    )
)
_MEMBERS_WITH_RECORDS = Prebuilt(
    lambda one_of: select(
        FamilyMember.family_id, FamilyMember.patient_id, PatientAlias.canonical_id,
        Resource.content,
    )
    .outerjoin(PatientAlias, PatientAlias.patient_id == FamilyMember.patient_id)
    .outerjoin(Resource, (Resource.type == "Patient") & (Resource.id == FamilyMember.patient_id))
    .where(one_of(FamilyMember.family_id, "ids"))
    .order_by(FamilyMember.family_id, FamilyMember.patient_id)
)  # fmt: skip


def families_of(session: Session, patient_ids: Iterable[str]) -> dict[str, str]:
    wanted = list(set(patient_ids))
    if not wanted:
        return {}
    rows = session.execute(
        select(FamilyMember.patient_id, FamilyMember.family_id).where(
            FamilyMember.patient_id.in_(wanted)
        )
    )
    return {p: f for p, f in rows}


def members(session: Session, family_ids: Iterable[str]) -> dict[str, list[str]]:
    wanted = sorted(set(family_ids))
    out: dict[str, list[str]] = {f: [] for f in wanted}
    if wanted:
        rows = session.execute(
            select(FamilyMember.family_id, FamilyMember.patient_id)
            .where(FamilyMember.family_id.in_(wanted))
            .order_by(FamilyMember.patient_id)
        )
        for family_id, patient_id in rows:
            out[family_id].append(patient_id)
    return out


def lock_families_of(session: Session, patient_ids: Iterable[str]) -> dict[str, str]:
    """Each patient's family, the families locked until commit (PostgreSQL; in one order, so
    two transactions never wait on each other crosswise), in one round trip."""
    wanted = sorted(set(patient_ids))
    if not wanted:
        return {}
    rows = _LOCK_FAMILIES_OF.rows(session, {"ids": wanted})
    return {p: f for p, f in rows}


# (family_id, patient_id, canonical_id, content): see members_with_records.
MemberRow = Row[str, str, str | None, str | None]


def members_with_records(session: Session, family_ids: Iterable[str]) -> Sequence[MemberRow]:
    """(family_id, patient_id, canonical_id, content) for every member of these families:
    the surviving record of a merged one (else None) and the stored Patient JSON (else None)."""
    wanted = sorted(set(family_ids))
    if not wanted:
        return []
    return _MEMBERS_WITH_RECORDS.rows(session, {"ids": wanted})


def lock(session: Session, family_ids: Iterable[str]) -> None:
    """Hold the families' rows until commit (PostgreSQL), in one order so two transactions
    never wait on each other crosswise. SQLite's single writer already serialises."""
    wanted = sorted(set(family_ids))
    if wanted:
        session.execute(
            select(Family.family_id)
            .where(Family.family_id.in_(wanted))
            .order_by(Family.family_id)
            .with_for_update()
        ).all()


def add_families(session: Session, rows: list[tuple[str, str]], now: datetime) -> None:
    """New families of one new patient each: (family_id, patient_id)."""
    if rows:
        session.execute(insert(Family), [{"family_id": f, "created_at": now} for f, _ in rows])
        session.execute(insert(FamilyMember), [{"family_id": f, "patient_id": p} for f, p in rows])


def add_empty_families(session: Session, family_ids: list[str], now: datetime) -> None:
    """New family rows with no members yet (a part split off an existing family)."""
    if family_ids:
        session.execute(insert(Family), [{"family_id": f, "created_at": now} for f in family_ids])


def add_members(session: Session, patient_ids: list[str], family_id: str) -> None:
    """Patients that had no family row yet join `family_id`."""
    if patient_ids:
        session.execute(
            insert(FamilyMember), [{"family_id": family_id, "patient_id": p} for p in patient_ids]
        )


def delete_families(session: Session, family_ids: Iterable[str]) -> None:
    """Families left with no members after a merge: no empty rows stay behind."""
    wanted = sorted(set(family_ids))
    if wanted:
        session.execute(delete(Family).where(Family.family_id.in_(wanted)))


def move(session: Session, patient_ids: list[str], family_id: str) -> None:
    if patient_ids:
        session.execute(
            update(FamilyMember)
            .where(FamilyMember.patient_id.in_(patient_ids))
            .values(family_id=family_id)
        )


def replace_links(session: Session, source: str, links: list[tuple[str, str]]) -> list[str]:
    """The links made by `source` become `links` ((key, patient)); the patients whose links
    changed (old and new) are returned."""
    old = session.execute(
        select(FamilyLink.link_key, FamilyLink.patient_id).where(FamilyLink.source == source)
    ).all()
    if set(old) == set(links):
        return []
    _lock_link_keys(session, {k for k, _ in old} | {k for k, _ in links})
    session.execute(delete(FamilyLink).where(FamilyLink.source == source))
    fresh = sorted(set(links))
    if fresh:
        session.execute(
            insert(FamilyLink),
            [{"link_key": k, "patient_id": p, "source": source} for k, p in fresh],
        )
    return sorted({p for _, p in old} | {p for _, p in fresh})


# The namespace of the per-link-key advisory locks (the first of their two keys).
LINK_LOCKS = 7310


def _lock_link_keys(session: Session, keys: set[str]) -> None:
    """Hold each link key until commit, in one global order (no deadlock between writers).

    Two carers naming the same mother, written at once on PostgreSQL, would otherwise each
    look for the other's link before either committed, find none, and leave the siblings in
    two families (a missed family-level flag). With the key held, the second writer waits,
    and its next statement (READ COMMITTED) sees the first one's link. SQLite has one writer
    at a time already."""
    if not keys or session.connection().dialect.name != "postgresql":
        return
    session.execute(
        text(
            "SELECT pg_advisory_xact_lock(:ns, h) FROM (SELECT DISTINCT hashtext(k) AS h "
            "FROM unnest(CAST(:keys AS text[])) AS k ORDER BY 1) AS ordered"
        ),
        {"ns": LINK_LOCKS, "keys": sorted(keys)},
    )


def linked_patients(session: Session, patient_ids: Iterable[str]) -> dict[str, set[str]]:
    """For each patient, the others that share a link key with it (one hop)."""
    wanted = list(set(patient_ids))
    out: dict[str, set[str]] = {p: set() for p in wanted}
    if not wanted:
        return out
    mine = session.execute(
        select(FamilyLink.patient_id, FamilyLink.link_key).where(FamilyLink.patient_id.in_(wanted))
    ).all()
    keys = {k for _, k in mine}
    if not keys:
        return out
    sharing = session.execute(
        select(FamilyLink.link_key, FamilyLink.patient_id).where(FamilyLink.link_key.in_(keys))
    ).all()
    by_key: dict[str, set[str]] = {}
    for key, patient in sharing:
        by_key.setdefault(key, set()).add(patient)
    for patient, key in mine:
        out[patient] |= by_key.get(key, set()) - {patient}
    return out
