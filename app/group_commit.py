"""Group commit: concurrent single writes in one process are written, reconciled and audited
as one unit of work, and each request still gets its own answer.

Why: a single write's fixed costs (locking and loading the touched families, reading and
storing their concerns, the outbox's lookups, the commit) are paid once per unit of work.
Grouped, they are paid once for every write waiting at that moment, and the answers go out
after the one commit, so each request's flags are readable when it is answered.

How: the writes wait in a queue; a leader (one of `leaders` threads of the group's own
pool, started when a write arrives and none is free) takes the writes waiting for the same
state (up to `limit`), runs them in one transaction and commits, answers them, and takes the
next group while any wait. Under no load a group is one write and costs what a write alone
costs; under load a group is what arrived while the others ran. One leader per process
measured best (bench/RESULTS.md, 2026-12-06): more leaders make smaller groups.

A request on the event loop waits for its answer on the loop (`submit`): no thread of the
request pool is held while it waits, and the answers of a group reach the loop in one
wake-up. Each hand-off between threads costs a wake-up of another core, which on these
shared machines cost more than a tenth of a single POST's CPU (bench/RESULTS.md,
2026-12-08). `run` is the same for a caller on a thread of its own.

Appointment outcomes that cannot read each other's writes (`together.may_go_together`) are
stored in one pass, as a Bundle's entries are: one statement per table for the group
instead of one per write (bench/RESULTS.md, 2026-12-07). If that pass fails for any write,
nothing of it is kept and the group runs one write after another, as below.

A write that fails (a refusal, a bug) rolls the group back: it runs again alone through the
ordinary path, where its refusal is audited as any other, and the others run again as a
group (the savepoint-free equivalent of "a savepoint only for the request that fails"). A
database race retries the group as `AppState.write` retries one write; if the group still
cannot commit, each write runs alone, so one write's fault is never another's answer. A lost
connection is answered to every write of the group (503), never run again: its COMMIT may
have been the statement whose answer was lost."""

from __future__ import annotations

import asyncio
import contextvars
import logging
import threading
from collections import defaultdict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import datetime
from functools import partial
from typing import Any, Protocol, TypeVar

from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from app.auth.principal import Principal
from app.fhir.errors import FhirError
from app.services.access import audit
from app.services.common.answer import Answer
from app.services.common.writes import WriteContext
from app.services.records.resources import ClientWrite
from app.services.records.together import may_go_together, write_together
from app.settings import Settings

UseCase = Callable[[Session], Answer[Any]]
MakeUseCase = Callable[[WriteContext], UseCase]  # the use case, given the group's context
T = TypeVar("T")
log = logging.getLogger("wnb.group_commit")


class Runtime(Protocol):
    """What a group needs of `app.runtime.AppState`, which holds the GroupCommit (so this
    module cannot import it)."""

    @property
    def settings(self) -> Settings: ...

    def clock(self) -> datetime: ...

    def write_context(self, author: tuple[str, str] | None = None) -> WriteContext: ...

    def write(self, use_case: Callable[[Session], T], ctx: WriteContext | None = None) -> T: ...

    def audited(
        self,
        who: Principal,
        note: audit.AuditNote,
        use_case: UseCase,
        ctx: WriteContext | None = None,
    ) -> Answer[Any]: ...


@dataclass(eq=False)
class GroupedWrite:
    state: Runtime
    who: Principal
    note: audit.AuditNote
    make: MakeUseCase
    author: tuple[str, str] | None  # stamped on every version this write stores
    # How its caller hears that it finished: a future on the caller's event loop, or (no
    # loop: a caller on a thread of its own) an event.
    future: asyncio.Future[None] | None = None
    wake: threading.Event = field(default_factory=threading.Event)
    # The caller's context: the group it leads runs in it, so its statements count against
    # a request (`app.api.metrics`) as they did when the leader was a request's own thread.
    context: contextvars.Context = field(default_factory=contextvars.copy_context)
    answer: Answer[Any] | None = None
    error: BaseException | None = None
    together: bool = False  # answered by its group's one pass (`together.write_together`)
    # What the request named before any attempt (a PUT's target): an attempt rolled back
    # hands it back to the note, so a refusal's record names no resource never stored.
    asked: list[str] = field(init=False)

    def __post_init__(self) -> None:
        self.asked = list(self.note.references)

    def outcome(self) -> Answer[Any]:
        if self.error is not None:
            raise self.error
        assert self.answer is not None, "a finished write has an answer or an error"
        return self.answer


class _Failed(Exception):
    """One write of a group failed in a way of its own (not the database's)."""

    def __init__(self, write: GroupedWrite) -> None:
        super().__init__()
        self.write = write


class GroupCommit:
    def __init__(self, limit: int, leaders: int = 1) -> None:
        self.limit = limit
        self.leaders = leaders
        self._lock = threading.Lock()
        self._waiting: list[GroupedWrite] = []
        self._leading = 0  # leaders running now
        self._closed = False
        # Its threads start when first needed and end with `close` (the app's lifespan); a
        # leader gives its thread back to the pool as soon as no write waits.
        self._pool = ThreadPoolExecutor(leaders, thread_name_prefix="wnb-group-commit")

    async def submit(
        self,
        state: Runtime,
        who: Principal,
        note: audit.AuditNote,
        make: MakeUseCase,
        author: tuple[str, str] | None,
    ) -> Answer[Any]:
        """The write's answer once it has committed or failed, awaited on the event loop. A
        request cancelled while it waits (its client gone) leaves the write to finish."""
        write = GroupedWrite(state, who, note, make, author)
        write.future = asyncio.get_running_loop().create_future()
        self._queue(write)
        await write.future
        return write.outcome()

    def run(
        self,
        state: Runtime,
        who: Principal,
        note: audit.AuditNote,
        make: MakeUseCase,
        author: tuple[str, str] | None,
    ) -> Answer[Any]:
        """`submit` for a caller on a thread: blocks it until the write has committed or
        failed."""
        write = GroupedWrite(state, who, note, make, author)
        self._queue(write)
        write.wake.wait()
        return write.outcome()

    def close(self) -> None:
        """End the leaders' threads once the groups queued have run (the process stops); a
        write sent after this is refused (503), never left waiting."""
        with self._lock:
            self._closed = True
        self._pool.shutdown(wait=True)

    def waiting(self) -> int:
        with self._lock:
            return len(self._waiting)

    def leading(self) -> int:
        """Leaders running now (each holds a leader's place)."""
        with self._lock:
            return self._leading

    def _queue(self, write: GroupedWrite) -> None:
        with self._lock:
            if self._closed:
                raise _stopping()
            self._waiting.append(write)
            start = self._leading < self.leaders
            if start:
                self._leading += 1
        if start:
            try:
                self._pool.submit(self._lead)
            except RuntimeError as exc:  # the pool shut down meanwhile: nobody would lead
                with self._lock:
                    self._waiting.remove(write)
                    self._leading -= 1
                raise _stopping() from exc

    def _next_group(self) -> list[GroupedWrite]:
        """The next group (writes for one state, oldest first), or none, and then the
        leader's place given back: under the lock, so a write queued after it finds a place."""
        with self._lock:
            if not self._waiting:
                self._leading -= 1
                return []
            first = self._waiting[0].state
            group = [w for w in self._waiting if w.state is first][: self.limit]
            for w in group:
                self._waiting.remove(w)
            return group

    def _lead(self) -> None:
        """A leader: groups one after another while writes wait."""
        group = self._next_group()
        while group:
            try:
                group[0].context.run(execute, group)
            except BaseException as exc:  # a leader's thread has no caller to raise it to
                log.error("a group was interrupted (%s)", type(exc).__name__)  # no data
            for w in group:
                if w.answer is None and w.error is None:  # interrupted (BaseException)
                    w.error = RuntimeError("the write's group was interrupted; send it again")
            # The next group is taken (or the place given back) before these are answered,
            # so that a caller answered finds no place still taken for nothing.
            following = self._next_group()
            _answer(group)
            group = following


def _stopping() -> FhirError:
    return FhirError.one(503, "transient", "The service is stopping; send the write again.")


def _answer(group: list[GroupedWrite]) -> None:
    """Tell each write's caller: one wake-up per event loop for the whole group. Never
    raises: the leader must go on to the next group."""
    on_loops: dict[asyncio.AbstractEventLoop, list[GroupedWrite]] = defaultdict(list)
    for w in group:
        if w.future is None:
            w.wake.set()
        else:
            on_loops[w.future.get_loop()].append(w)
    for loop, writes in on_loops.items():
        try:
            loop.call_soon_threadsafe(_resolve, writes)
        except Exception as exc:  # the loop has closed: nobody waits for these answers now
            log.warning("%d answer(s) not delivered (%s)", len(writes), type(exc).__name__)


def _resolve(writes: list[GroupedWrite]) -> None:
    for w in writes:
        if w.future is not None and not w.future.done():  # done: cancelled, its client gone
            w.future.set_result(None)


def execute(group: list[GroupedWrite]) -> None:
    """Run `group` (writes for one state) as one unit of work; every write ends with an
    answer or an error. Never raises."""
    pending = list(group)
    if may_go_together([w.make for w in pending]) and _together(pending):
        return
    while pending:
        if len(pending) == 1:
            _alone(pending[0])
            return
        state = pending[0].state
        ctx = state.write_context()
        try:
            answers = state.write(partial(_all, pending, ctx), ctx)
        except _Failed as failed:
            _forget(pending)
            pending.remove(failed.write)
            _alone(failed.write)
            continue
        except Exception as exc:
            if _lost(exc, pending):
                return
            # The group could not commit (a race that outlived its retries, a database
            # error): each write alone, so the fault is answered to the write that has it.
            _forget(pending)
            for w in pending:
                _alone(w)
            return
        for w, answer in zip(pending, answers, strict=True):
            w.answer = answer
        return


def _together(pending: list[GroupedWrite]) -> bool:
    """Store the group's writes in one pass (`together.write_together`): one statement per
    table for all of them. False, with nothing kept, if any of them failed: the group then
    runs one write after another, where each answer is the one it would get alone (a lost
    connection excepted: `_lost`)."""
    state = pending[0].state
    ctx = state.write_context()
    writes = [(w.make, w.author) for w in pending if isinstance(w.make, ClientWrite)]

    def run(session: Session) -> list[Answer[Any]]:
        answers = write_together(session, writes, ctx)
        _audit(session, pending, answers)
        return answers

    try:
        answers = state.write(run, ctx)
    except Exception as exc:
        if _lost(exc, pending):
            return True
        # Expected now and then (a refusal, two writes naming one resource); the kind only,
        # never the request's data.
        log.info("a group of %d ran one write after another: %s", len(pending), type(exc).__name__)
        _forget(pending)
        return False
    for w, answer in zip(pending, answers, strict=True):
        w.answer, w.together = answer, True
    return True


def _lost(exc: Exception, pending: list[GroupedWrite]) -> bool:
    """Whether the connection was lost, and if so every write answered with the error (503,
    send it again), as a write alone is. The group may have committed (a COMMIT whose answer
    never came), so its writes are not run again, which could store each twice."""
    if not (isinstance(exc, DBAPIError) and exc.connection_invalidated):
        return False
    for w in pending:
        w.error = exc
    return True


def _forget(pending: list[GroupedWrite]) -> None:
    """A rolled-back attempt's answers were never stored: the notes name again only what
    their requests asked for."""
    for w in pending:
        w.note.references = list(w.asked)


def _all(pending: list[GroupedWrite], ctx: WriteContext, session: Session) -> list[Answer[Any]]:
    answers = [_one(session, w, ctx) for w in pending]
    _audit(session, pending, answers)
    return answers


def _audit(session: Session, pending: list[GroupedWrite], answers: list[Answer[Any]]) -> None:
    for w, answer in zip(pending, answers, strict=True):
        w.note.references = answer.references
    state = pending[0].state
    if state.settings.audit_enabled:
        # Each write's record names what its answer disclosed; all go in one statement.
        audit.record_all(session, [(w.who, w.note) for w in pending], state.clock())


def _one(session: Session, w: GroupedWrite, ctx: WriteContext) -> Answer[Any]:
    try:
        return w.make(replace(ctx, author=w.author))(session)
    except DBAPIError:
        raise  # the database's: AppState.write retries the whole group
    except Exception as exc:
        raise _Failed(w) from exc


def _alone(w: GroupedWrite) -> None:
    """The ordinary path: its own transaction, its refusal audited."""
    ctx = w.state.write_context(author=w.author)
    try:
        w.answer = w.state.audited(w.who, w.note, w.make(ctx), ctx)
    except BaseException as exc:  # handed to the request's own thread, which raises it
        w.error = exc
