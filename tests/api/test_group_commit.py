"""Group commit (app/group_commit.py): single writes that wait while a unit of work runs are
written, reconciled and audited together in the next one, each with its own answer; a write
that fails is answered alone and takes nothing down with it. Both databases.

The groups are made deterministic by holding the leader inside its transaction until the
followers are queued (a condition waited on with a generous deadline, never a timing)."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, event, func, select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from app.auth.principal import Principal
from app.auth.scopes import ROLE_SCOPES, parse_scopes
from app.fhir.errors import FhirError
from app.fhir.written_by import author_of
from app.group_commit import GroupCommit, GroupedWrite, execute
from app.runtime import AppState
from app.services.access.audit import AuditNote
from app.services.common.answer import Answer
from app.services.common.writes import WriteContext, WriteResult
from app.services.records import resources
from app.store.models import AuditEntity, CodedEvent, RaisedFlag
from tests.conftest import FIXED_NOW
from tests.db_faults import failing_on
from tests.factories import appointment, child, patient
from tests.services.test_statement_budgets import counted, summary, with_history

WHO = Principal(
    "client",
    "group-commit-test",
    "group commit test",
    "source",
    parse_scopes(ROLE_SCOPES["source"]),
)
DEADLINE = 60.0  # seconds; generous on a loaded machine

# Statements for a group of four noshows, (sqlite, postgres): one write after another, and
# in one pass.
GROUP_OF_FOUR = {False: (36, 16), True: (24, 10)}


def _until(condition: Callable[[], bool], what: str) -> None:
    end = time.monotonic() + DEADLINE
    while not condition():
        assert time.monotonic() < end, f"still waiting: {what}"
        time.sleep(0.01)


def _noshow(
    pid: str, day: str = "2026-06-10", together: bool = False
) -> Callable[[WriteContext], Any]:
    """A noshow's write as a POST makes it (`together`: a `ClientWrite`, which a group may
    store in one pass) or as an opaque use case, which a group runs after the others."""
    body = appointment(f"Patient/{pid}", "noshow", f"{day}T09:00:00Z")
    if together:
        return resources.ClientWrite(resources.check_create("Appointment", body, FIXED_NOW))

    def make(ctx: WriteContext) -> Callable[[Session], Answer[WriteResult]]:
        return lambda s: resources.create(s, "Appointment", body, None, ctx)

    return make


@pytest.fixture(params=[False, True], ids=["one-after-another", "in-one-pass"])
def together(request: pytest.FixtureRequest) -> bool:
    return bool(request.param)


class Held:
    """A write that waits, inside its transaction, until released: while it leads, the
    writes that arrive queue behind it."""

    def __init__(self) -> None:
        self.inside = threading.Event()
        self.release = threading.Event()

    def make(self, ctx: WriteContext) -> Callable[[Session], Answer[WriteResult]]:
        def use_case(s: Session) -> Answer[WriteResult]:
            self.inside.set()
            assert self.release.wait(DEADLINE), "never released"
            return resources.create(s, "Patient", patient(), None, ctx)

        return use_case


@pytest.fixture
def commits(state: AppState) -> Iterator[list[int]]:
    """How many units of work committed (each test's commits release savepoints)."""
    seen: list[int] = []

    def count(_session: Session) -> None:
        seen.append(1)

    event.listen(state.writer, "after_commit", count)
    yield seen
    event.remove(state.writer, "after_commit", count)


def _held(state: AppState) -> tuple[GroupCommit, Held, threading.Thread]:
    """A GroupCommit whose leader is held inside its transaction (released by the caller)."""
    group = GroupCommit(32)
    held = Held()
    leader = threading.Thread(
        target=lambda: group.run(state, WHO, AuditNote("create", "Patient"), held.make, None)
    )
    leader.start()
    assert held.inside.wait(DEADLINE)
    return group, held, leader


def _run_behind_a_held_leader(
    state: AppState, makes: list[Callable[[WriteContext], Any]]
) -> list[Any]:
    """Each of `makes` queued behind a held write, then all released; the answers (or the
    errors) in order."""
    out: list[Any] = [None] * len(makes)

    def submit(i: int, make: Callable[[WriteContext], Any]) -> None:
        try:
            out[i] = group.run(
                state, WHO, AuditNote("create", "Appointment"), make, ("client", WHO.id)
            )
        except Exception as exc:  # handed back to the test, which checks it
            out[i] = exc

    group, held, leader = _held(state)
    threads = [threading.Thread(target=submit, args=(i, m)) for i, m in enumerate(makes)]
    for t in threads:
        t.start()
    _until(lambda: group.waiting() == len(makes), "the writes to queue behind the leader")
    held.release.set()
    for t in [leader, *threads]:
        t.join(DEADLINE)
        assert not t.is_alive()
    assert group.waiting() == 0
    return out


def test_writes_queued_behind_a_unit_of_work_commit_as_one_each_with_its_answer(
    client: TestClient, state: AppState, commits: list[int], together: bool
) -> None:
    kids = [child(client, birth="2026-01-01") for _ in range(3)]  # infant-wnb: one miss
    commits.clear()
    answers = _run_behind_a_held_leader(state, [_noshow(p, together=together) for p in kids])
    assert len(commits) == 2  # the held leader's, then the three together
    results = [a.body for a in answers]
    assert [r.status for r in results] == [201, 201, 201]
    assert len({r.id for r in results}) == 3
    with state.reader() as s:
        # Each child's concern was raised before its request was answered.
        raised = s.scalars(select(RaisedFlag.child_id).where(RaisedFlag.child_id.in_(kids)))
        assert sorted(raised) == sorted(kids)
        # One audit record per write, naming what it wrote.
        for r in results:
            named = select(func.count()).where(AuditEntity.reference == f"Appointment/{r.id}")
            assert s.scalar(named) == 1


def test_a_failing_write_is_answered_alone_and_the_others_still_commit(
    client: TestClient, state: AppState, together: bool
) -> None:
    kids = [child(client, birth="2026-01-01") for _ in range(2)]
    unknown = "no-such-patient-anywhere"
    answers = _run_behind_a_held_leader(
        state, [_noshow(pid, together=together) for pid in (kids[0], unknown, kids[1])]
    )
    ok_first, refused, ok_last = answers
    assert isinstance(refused, FhirError) and 400 <= refused.status < 500, refused
    assert ok_first.body.status == 201 and ok_last.body.status == 201
    for r in (ok_first.body, ok_last.body):
        assert client.get(f"/fhir/Appointment/{r.id}").status_code == 200
    with state.reader() as s:
        raised = s.scalars(select(RaisedFlag.child_id).where(RaisedFlag.child_id.in_(kids)))
        assert sorted(raised) == sorted(kids)


@pytest.mark.own_connections("the connection is lost in the middle of the group")
@pytest.mark.postgres_only("a lost connection needs a server to lose")
def test_a_lost_connection_is_answered_to_every_write_and_none_runs_again(
    client: TestClient, state: AppState, together: bool
) -> None:
    """The group's connection is cut once, mid-transaction. Its COMMIT could as well have
    been the statement whose answer was lost, so no write runs again (a POST without an
    identifier would be stored twice): each is answered the error, as a write alone is."""
    kids = [child(client, birth="2026-01-01") for _ in range(3)]
    group = [
        GroupedWrite(
            state, WHO, AuditNote("create", "Appointment"), _noshow(p, together=together), None
        )
        for p in kids
    ]
    admin = create_engine(state.engine.url, isolation_level="AUTOCOMMIT")
    cut: list[int] = []

    def once(cursor: Any) -> None:
        if not cut:
            cut.append(cursor.connection.info.backend_pid)
            with admin.connect() as conn:
                conn.execute(text("SELECT pg_terminate_backend(:pid, 5000)"), {"pid": cut[0]})

    try:
        with failing_on(state.engine, "SELECT raised_flag", once):  # mid-transaction
            execute(group)
    finally:
        admin.dispose()
    assert cut, "the fault never fired"
    for w in group:
        with pytest.raises(DBAPIError) as raised:
            w.outcome()
        assert raised.value.connection_invalidated
    with state.reader() as s:
        stored = s.scalar(select(func.count()).where(CodedEvent.child_id.in_(kids)))
    assert stored == 0


def test_every_write_of_a_group_carries_its_own_author(
    client: TestClient, state: AppState, together: bool
) -> None:
    kids = [child(client, birth="2026-01-01") for _ in range(2)]
    group = [
        GroupedWrite(
            state, WHO, AuditNote("create", "Appointment"), _noshow(pid, together=together), author
        )
        for pid, author in zip(kids, [("client", "source-a"), ("client", "source-b")], strict=True)
    ]
    execute(group)
    for w, author in zip(group, ["client/source-a", "client/source-b"], strict=True):
        stored = client.get(f"/fhir/Appointment/{w.outcome().body.id}").json()
        assert author_of(stored) == author


@pytest.mark.own_connections("counts the statements a unit of work sends")
def test_statements_of_a_group_of_four_noshows_pinned(
    client: TestClient, state: AppState, together: bool
) -> None:
    """Four noshows for four children with history, as one group: 16 statements on
    PostgreSQL against 40 for the four alone (10 each, the token check aside). One after
    another, each write keeps its own 2 (its reference checked; its resource with its
    version, search values and coded event, one statement on PostgreSQL); in one pass those 2
    are sent once for all four: 10. The other 8 are paid once for the group: the audit
    records of all four with their entities (1), the families locked and loaded (4), the
    concerns read (1) and written with their Flags' next versions and the families' next
    deadlines (1: the marks, the concerns' rows, the Flags' current rows and their version
    rows, each one part for every changed concern, one statement of CTEs), and the
    notifier's subscription stamp (1)."""
    kids = [with_history(client) for _ in range(4)]
    group = [
        GroupedWrite(
            state, WHO, AuditNote("create", "Appointment"), _noshow(pid, together=together), None
        )
        for pid in kids
    ]
    with counted(state) as seen:
        execute(group)
    assert [w.outcome().body.status for w in group] == [201] * 4
    sqlite, postgres = GROUP_OF_FOUR[together]
    assert len(seen) == (sqlite if state.settings.is_sqlite else postgres), summary(seen)


@pytest.mark.own_connections("several groups at once, each on its own connection")
@pytest.mark.postgres_only("two groups writing at once need a server")
def test_many_writes_through_two_leaders_all_answered_and_the_places_given_back(
    client: TestClient, state: AppState, together: bool
) -> None:
    """Twenty writes from twenty threads through a GroupCommit with two leaders: every write
    is answered (none waits for ever on a leader's place that was never given back), each
    child gets its concern, and no place stays taken."""
    kids = [child(client, birth="2026-01-01") for _ in range(20)]
    group = GroupCommit(4, leaders=2)
    out: list[Any] = [None] * len(kids)
    start = threading.Barrier(len(kids))

    def submit(i: int, pid: str) -> None:
        start.wait(DEADLINE)
        note = AuditNote("create", "Appointment")
        make = _noshow(pid, together=together)
        out[i] = group.run(state, WHO, note, make, ("client", WHO.id))

    threads = [threading.Thread(target=submit, args=(i, p)) for i, p in enumerate(kids)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(DEADLINE)
        assert not t.is_alive(), "a write was never answered"
    assert [a.body.status for a in out] == [201] * len(kids)
    assert group.waiting() == 0 and group.leading() == 0
    with state.reader() as s:
        raised = s.scalars(select(RaisedFlag.child_id).where(RaisedFlag.child_id.in_(kids)))
        assert sorted(raised) == sorted(kids)


def test_a_request_that_stops_waiting_leaves_its_write_to_finish(
    client: TestClient, state: AppState
) -> None:
    """A request waits for its group on the event loop (`GroupCommit.submit`). Cancelled
    while it waits (its client gone), it is not answered, but its write still commits, the
    leader goes on to the writes behind it, and no leader's place stays taken."""
    kid = child(client, birth="2026-01-01")
    group, held, leader = _held(state)

    async def cancel_one_then_send_another() -> Any:
        note = AuditNote("create", "Appointment")
        first = asyncio.ensure_future(
            group.submit(state, WHO, note, _noshow(kid, "2026-06-10"), ("client", WHO.id))
        )
        while group.waiting() < 1:
            await asyncio.sleep(0.01)
        first.cancel()
        held.release.set()
        answer = await group.submit(
            state, WHO, AuditNote("create", "Appointment"), _noshow(kid, "2026-06-11"), None
        )
        assert first.cancelled()
        return answer

    answer = asyncio.run(asyncio.wait_for(cancel_one_then_send_another(), DEADLINE))
    leader.join(DEADLINE)
    assert not leader.is_alive()
    assert answer.body.status == 201
    assert group.waiting() == 0 and group.leading() == 0
    with state.reader() as s:
        stored = s.scalar(select(func.count()).where(CodedEvent.child_id == kid))
    assert stored == 2  # the cancelled request's write as well


def test_each_event_loop_hears_its_own_writes_answered(
    client: TestClient, state: AppState, together: bool
) -> None:
    """Writes from two event loops (two threads, as two servers' loops would be) queued
    behind one held leader and run in one group: each loop is woken with its own answers."""
    kids = [child(client, birth="2026-01-01") for _ in range(4)]
    group, held, leader = _held(state)
    out: dict[int, list[Any]] = {}

    def loop(n: int, pids: list[str]) -> None:
        async def both() -> list[Any]:
            sends = [
                group.submit(
                    state,
                    WHO,
                    AuditNote("create", "Appointment"),
                    _noshow(p, together=together),
                    ("client", WHO.id),
                )
                for p in pids
            ]
            return list(await asyncio.gather(*sends))

        out[n] = asyncio.run(asyncio.wait_for(both(), DEADLINE))

    threads = [threading.Thread(target=loop, args=(n, kids[2 * n : 2 * n + 2])) for n in (0, 1)]
    for t in threads:
        t.start()
    _until(lambda: group.waiting() == 4, "the writes of both loops to queue")
    held.release.set()
    for t in [leader, *threads]:
        t.join(DEADLINE)
        assert not t.is_alive()
    assert sorted(out) == [0, 1]
    assert [a.body.status for n in (0, 1) for a in out[n]] == [201] * 4
    assert len({a.body.id for n in (0, 1) for a in out[n]}) == 4
    assert group.waiting() == 0 and group.leading() == 0


def test_a_write_sent_after_close_is_refused_and_nothing_waits(
    client: TestClient, state: AppState
) -> None:
    """Once closed (the app's lifespan ends), a write is refused at once (503, send it again)
    and leaves no write waiting and no leader's place taken, so none after it waits for
    ever either."""
    kid = child(client, birth="2026-01-01")
    group = GroupCommit(32)
    first = group.run(state, WHO, AuditNote("create", "Appointment"), _noshow(kid), None)
    assert first.body.status == 201
    group.close()
    for day in ("2026-06-11", "2026-06-12"):
        with pytest.raises(FhirError) as refused:
            group.run(state, WHO, AuditNote("create", "Appointment"), _noshow(kid, day), None)
        assert refused.value.status == 503
        assert group.waiting() == 0 and group.leading() == 0
