"""Merged patient records (`Patient.link` replaced-by / replaces): a chain of merges ends at
one surviving record. A link that would close a cycle (A replaced by B, B replaced by A) is
refused: a cycle has no surviving record, and it would make one child two siblings."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from sqlalchemy.orm import Session

from app.fhir.errors import FhirError
from app.services.common.writes import Planned
from app.store import case_repo, links_repo

MAX_CHAIN = 64  # merges of merges; far past any real chain, and the walk must end


def refuse_cycles(session: Session, stated: Mapping[str, str], patients: Sequence[Planned]) -> None:
    """422 naming `Patient.link` if a merge just stated (merged -> surviving) leads back to
    its merged record through the merges already stored. Runs inside the write's
    transaction, so the refusal leaves nothing behind."""
    for merged, surviving in sorted(stated.items()):
        current = surviving
        for _ in range(MAX_CHAIN):
            if current == merged:
                raise _cycle(merged, surviving, patients)
            nxt = links_repo.aliases_of(session, [current]).get(current)
            if nxt is None:
                break
            current = nxt


def _cycle(merged: str, surviving: str, patients: Sequence[Planned]) -> FhirError:
    stating = next(
        (p for p in patients if p.id in (merged, surviving)), patients[0] if patients else None
    )
    where = (stating.request.where or "Patient") if stating is not None else "Patient"
    return FhirError.one(
        422,
        "business-rule",
        f"Patient/{merged} cannot be replaced by Patient/{surviving}: Patient/{surviving} is "
        f"already merged, directly or through other records, into Patient/{merged}. A chain "
        "of merges must end at one surviving record; correct the earlier link first.",
        f"{where}.link",
    )


def carry_owners(session: Session, stated: Mapping[str, str]) -> None:
    """A case owned before its record was merged stays owned: the surviving record takes the
    owner and next review date, unless it has an owner of its own (that nurse keeps it). The
    merged record's ownership ends either way: its flags are raised on the survivor only,
    so a caseload row for it would lead nowhere."""
    if not stated:
        return
    owners = case_repo.owners_of(session, [*stated, *stated.values()])
    moves: dict[str, str] = {}
    dropped: list[str] = []
    for merged, surviving in sorted(stated.items()):
        if merged not in owners:
            continue
        if surviving in owners or surviving in moves.values():
            dropped.append(merged)
        else:
            moves[merged] = surviving
    case_repo.clear_owner(session, dropped)
    case_repo.move_owners(session, moves)
