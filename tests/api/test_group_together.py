"""A group of single writes stored in one pass (app/services/records/together.py) answers
and stores exactly what the same group does one write after another. Hypothesis draws the
groups, of Appointments or of did-not-attend Observations: POSTs with and without
identifiers (two may share one, or carry a stored resource's), PUTs of stored and of new ids
(two may name one), and POSTs for a patient the server does not hold. Each example is run
twice, on two families alike in all but their ids: in one pass where the group may go
together, and one after another; the answers, the versions stored, the coded misses and the
open concerns must match. Both databases."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from fastapi.testclient import TestClient
from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.fhir.errors import FhirError
from app.group_commit import GroupedWrite, MakeUseCase, execute
from app.runtime import AppState
from app.services.access.audit import AuditNote
from app.services.common.answer import Answer
from app.services.common.writes import WriteContext, WriteResult
from app.services.records import resources
from app.services.records.together import may_go_together
from app.store.models import CodedEvent, RaisedFlag, Resource
from tests.api.test_group_commit import WHO
from tests.conftest import FIXED_NOW
from tests.factories import appointment, child, created_id, post

CHILDREN = 3
STORED = 2  # appointments stored before the group, one per identifier 0 and 1


@dataclass(frozen=True)
class Op:
    kind: str  # post | put-stored | put-new | post-stranger
    child: int
    status: str
    days_ago: int
    # POST: an identifier of the pool (0 and 1 are the stored ones'); PUT of a stored one:
    # whether it carries its identifier
    ident: int | None
    target: int  # PUT: which stored or new id


ops = st.builds(
    Op,
    kind=st.sampled_from(["post", "post", "post", "put-stored", "put-new", "post-stranger"]),
    child=st.integers(0, CHILDREN - 1),
    status=st.sampled_from(["noshow", "noshow", "fulfilled", "booked"]),
    days_ago=st.integers(1, 60),
    ident=st.none() | st.integers(0, 3),
    target=st.integers(0, 1),
)


@dataclass
class World:
    """One family of `CHILDREN` infants with `STORED` appointments, its ids its own."""

    tag: str
    kids: list[str]
    stored: list[str]

    def body(self, op: Op, dna: bool) -> dict[str, Any]:
        """`op`'s resource: an Appointment, or with `dna` a did-not-attend Observation (none
        is stored before the group: a PUT of "stored" one creates it)."""
        start = (FIXED_NOW - timedelta(days=op.days_ago)).strftime("%Y-%m-%dT09:00:00Z")
        who = f"Patient/{self.kids[op.child]}"
        if op.kind == "post-stranger":
            who = f"Patient/{self.tag}-nobody"
        ident = f"{self.tag}-{op.ident}" if op.kind == "post" and op.ident is not None else None
        data = _observation(who, op.status, start) if dna else appointment(who, op.status, start)
        if ident:
            data["identifier"] = [{"system": _SYSTEM, "value": ident}]
        if op.kind == "put-stored":
            data["id"] = f"{self.tag}-obs-{op.target}" if dna else self.stored[op.target]
            if op.ident is not None:  # as stored; without it, the PUT drops it
                data["identifier"] = [{"system": _SYSTEM, "value": f"{self.tag}-{op.target}"}]
        elif op.kind == "put-new":
            data["id"] = f"{self.tag}-new-{op.target}"
        return data

    def name(self, rid: str) -> str:
        """An id as both worlds can compare it."""
        if rid in self.stored:
            return f"stored-{self.stored.index(rid)}"
        return rid.replace(self.tag, "") if rid.startswith(self.tag) else "fresh"


_SYSTEM = appointment("Patient/x", ident="x")["identifier"][0]["system"]
# An appointment's status as a did-not-attend Observation says it: a miss, or void.
_DNA_STATUS = {"noshow": "final", "fulfilled": "entered-in-error", "booked": "cancelled"}


def _observation(who: str, status: str, start: str) -> dict[str, Any]:
    return {
        "resourceType": "Observation",
        "status": _DNA_STATUS[status],
        "code": {"coding": [{"system": "http://snomed.info/sct", "code": "924331000000103"}]},
        "subject": {"reference": who},
        "effectiveDateTime": start,
    }


def _world(client: TestClient) -> World:
    tag = f"w{uuid.uuid4().hex[:10]}"
    kids = [child(client, birth="2026-01-01") for _ in range(CHILDREN)]
    stored = [
        created_id(
            post(
                client,
                "Appointment",
                appointment(f"Patient/{kids[m]}", "booked", ident=f"{tag}-{m}"),
            )
        )
        for m in range(STORED)
    ]
    return World(tag, kids, stored)


def _make(world: World, op: Op, together: bool, dna: bool) -> MakeUseCase:
    data = world.body(op, dna)
    kind, rid = data["resourceType"], data.get("id")
    if together:  # as the API makes it
        if rid is None:
            return resources.ClientWrite(resources.check_create(kind, data, FIXED_NOW))
        checked = resources.check_update(kind, rid, data, FIXED_NOW)
        return resources.ClientWrite(checked, may=WHO.may)

    def make(ctx: WriteContext) -> Any:
        if rid is None:
            return lambda s: resources.create(s, kind, data, None, ctx)
        return lambda s: resources.update(s, kind, rid, data, None, ctx, WHO.may)

    return make


def _answer(world: World, w: GroupedWrite) -> tuple[Any, ...]:
    try:
        answer: Answer[WriteResult] = w.outcome()
    except FhirError as exc:
        return ("refused", exc.status, tuple(i.code for i in exc.issues))
    r = answer.body
    warning = r.warning.code if r.warning else None
    return (r.status, world.name(r.id), r.version, r.unchanged, r.matched, warning)


def _stored(state: AppState, world: World) -> tuple[Any, ...]:
    def read(s: Session) -> tuple[Any, ...]:
        events = s.execute(
            select(CodedEvent.child_id, CodedEvent.category, CodedEvent.event_at).where(
                CodedEvent.child_id.in_(world.kids)
            )
        ).all()
        flags = s.execute(
            select(RaisedFlag.child_id, RaisedFlag.reasons).where(
                RaisedFlag.is_open, RaisedFlag.child_id.in_(world.kids)
            )
        ).all()
        named = Resource.id.in_(world.stored) | Resource.id.like(f"{world.tag}-%")
        versions = s.execute(select(Resource.id, Resource.version).where(named)).all()
        return (
            sorted((world.name(rid), v) for rid, v in versions),
            sorted((world.kids.index(c), cat, at) for c, cat, at in events),
            sorted((world.kids.index(c), sorted(r["rule"] for r in rs)) for c, rs in flags),
        )

    return state.read(read)


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(group=st.lists(ops, min_size=2, max_size=5), dna=st.booleans())
# A re-send by identifier and a PUT without it, of one stored appointment: both would plan
# its second version (one after another, the PUT is its third).
@example(
    group=[Op("post", 0, "fulfilled", 14, 0, 0), Op("put-stored", 0, "booked", 14, None, 0)],
    dna=False,
)
def test_a_group_in_one_pass_ends_as_one_write_after_another(
    client: TestClient, state: AppState, group: list[Op], dna: bool
) -> None:
    worlds = [_world(client), _world(client)]
    ends = []
    passed: list[bool] = []
    for world, together in zip(worlds, [True, False], strict=True):
        writes = [
            GroupedWrite(
                state,
                WHO,
                AuditNote("create", "Appointment"),
                _make(world, op, together, dna),
                None,
            )
            for op in group
        ]
        if together:
            event(f"may go together: {may_go_together([w.make for w in writes])}")
        execute(writes)
        ends.append(([_answer(world, w) for w in writes], _stored(state, world)))
        passed += [w.together for w in writes]
    assert ends[0] == ends[1]
    # The pass is not a fallback that always runs: a group that may go together, names no
    # resource twice and is refused nothing one after another was stored in one pass.
    eligible = may_go_together([_make(worlds[0], op, True, dna) for op in group])
    targets = [_target(i, op, dna) for i, op in enumerate(group)]
    apart = len(set(targets)) == len(targets)
    refused = any(a[0] == "refused" for a in ends[1][0])
    assert passed[: len(group)] == [eligible and apart and not refused] * len(group)
    assert not any(passed[len(group) :])  # one after another: never


def _target(i: int, op: Op, dna: bool) -> tuple[str, int]:
    """The resource a write names: a stored one (by PUT or by its identifier), a new id, a
    new identifier, or one of its own. An Observation PUT as "stored" without its identifier
    is named by its id alone (none was stored before)."""
    if op.kind == "put-stored":
        return ("id", op.target) if dna and op.ident is None else ("stored", op.target)
    if op.kind == "put-new":
        return ("new", op.target)
    if op.kind == "post" and op.ident is not None:
        return ("stored" if op.ident < STORED else "identifier", op.ident)
    return ("own", i)
