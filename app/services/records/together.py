"""Several clients' single writes stored in one pass, as one Bundle's entries are: one
statement per table for all of them instead of one each (group commit's hot path).

Only writes that end exactly as they would one after another, in the order they arrived, go
together. They are appointment outcomes of one type (Appointment or Observation: a reference
to a resource another write of the pass creates is then refused, as it would be before that
write was stored), and none reads what another writes:
- no If-None-Exist: its search could match a resource another write of the pass creates;
- no two PUTs of one id: both would plan the same next version;
- no `basedOn` an Appointment: coding reads that appointment's stored service, which
  another write of the pass may be changing.
Patients, carers, groups and Flags never go together: their consequences (families, merges,
statuses, recoding) read each other's writes.

Two writes that still name one resource (the same identifier, a PUT and an identifier of
one stored resource, even where one would change nothing) make the pass fail at planning,
before anything is written (`write_resources(distinct=True)`), as any refusal does. The
group then runs one write after another (`app/group_commit.py`), where each answer is the
one it would get alone. Nothing of a failed pass is kept: it runs in the group's own
transaction, rolled back.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.orm import Session

from app.services.common.answer import Answer
from app.services.common.writes import WriteContext, WriteResult
from app.services.records.ingest import CODED_TYPES, write_resources
from app.services.records.resources import ClientWrite, answer_of
from app.services.records.write_guard import check_client_writes, check_put_creates

Author = tuple[str, str] | None


def may_go_together(writes: Sequence[object]) -> bool:
    """Whether `writes` (group commit's use case makers) may be stored in one pass."""
    put_ids: set[tuple[str, str]] = set()
    types: set[str] = set()
    for w in writes:
        if not isinstance(w, ClientWrite) or w.if_none_exist is not None:
            return False
        c = w.checked
        types.add(c.type)
        if c.type not in CODED_TYPES or len(types) > 1 or _based_on_an_appointment(c.data):
            return False
        if c.id is not None:
            if (c.type, c.id) in put_ids:
                return False
            put_ids.add((c.type, c.id))
    return len(writes) > 1


def write_together(
    session: Session, writes: Sequence[tuple[ClientWrite, Author]], ctx: WriteContext
) -> list[Answer[WriteResult]]:
    """Store `writes` (each with the author stamped on what it stores) in one pass; their
    answers in the order given. Raises as a single write does, for any of them, and
    SharedTarget where two of them name one resource.

    The bodies' references are resolved in place, as a single write's are: to stored
    Patients only (no Patient is written here), so a failed pass leaves them as a write
    alone would resolve them."""
    requests = [w.request(author) for w, author in writes]
    check_client_writes(session, requests, ctx.terms)
    results = write_resources(session, requests, ctx, distinct=True)
    for (w, _), request, result in zip(writes, requests, results, strict=True):
        if w.may is not None:
            check_put_creates([request], [result], w.may, [f"{request.type}.id"])
    return [answer_of(r) for r in results]


def _based_on_an_appointment(data: dict[str, object]) -> bool:
    based_on = data.get("basedOn")
    if not isinstance(based_on, list):
        return False
    # Absolute or relative: any reference naming an Appointment keeps the write apart.
    return any(
        isinstance(ref, dict)
        and isinstance(ref.get("reference"), str)
        and "Appointment/" in ref["reference"]
        for ref in based_on
    )
