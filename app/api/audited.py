"""One audited route: the caller's scopes checked, the use case run off the event loop in one
transaction with its audit record, and the answer's body handed back for the response.
A refusal at any step is recorded too, so the trail shows what was asked as well as what
was given."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import TypeVar

from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from app.api.security import require_all
from app.auth.principal import Principal
from app.fhir.errors import FhirError
from app.runtime import AppState
from app.services.access.audit import AuditNote
from app.services.common.answer import Answer
from app.services.common.writes import WriteContext

B = TypeVar("B")
C = TypeVar("C")
# A write made from its checked body: given the context it runs with, its use case. A
# `resources.ClientWrite` may also run in one pass with the others of its group.
MakeWrite = Callable[[C], Callable[[WriteContext], Callable[[Session], Answer[B]]]]
Need = tuple[str, str]  # (resource type, interaction) the caller's scopes must allow
# A body up to this size is checked on the event loop (`audited_write`, with group commit on):
# an appointment (under 1 kB) checks in about 0.05 ms, and the costliest shapes of this size
# (hundreds of contained resources or empty objects) in a few milliseconds; larger bodies go
# to a thread, so that no request holds up the loop for longer (at 16 kB such shapes took
# 6-15 ms, measured in review).
CHECK_ON_LOOP_BYTES = 4 * 1024


async def audited(
    state: AppState,
    who: Principal,
    note: AuditNote,
    needs: Sequence[Need],
    use_case: Callable[[Session], Answer[B]],
    ctx: WriteContext | None = None,
) -> B:
    """The body of `use_case`'s answer. `needs` are checked first (each refusal audited);
    a route that must read its body between the check and the use case checks them
    itself and passes none. A write passes the `ctx` its use case was given."""
    await require_all(state, who, note, *needs)
    answer = await run_in_threadpool(state.audited, who, note, use_case, ctx)
    for refusal in answer.refusals:  # a batch entry the caller's scopes did not allow
        await run_in_threadpool(state.refused, who, replace(note, references=[]), refusal)
    return answer.body


async def audited_write(
    state: AppState,
    who: Principal,
    note: AuditNote,
    check: Callable[[], C],
    make: MakeWrite[C, B],
    check_on_loop: bool = False,
) -> B:
    """The body of one write's answer. `check` runs first: what needs no database (parsing,
    structure, values), so that a group commit's unit of work holds only what does. Its
    refusal is audited. The write is then made from what `check` returned; with group commit
    on, it runs in the group's context (`app/group_commit.py`), carrying this caller as the
    author of what it stores. Scopes are checked by the caller first.

    With group commit on, the request waits for its group on the event loop, and
    `check_on_loop` (a small body: `CHECK_ON_LOOP_BYTES`) runs `check` there too: the request
    then costs no hand-off to a thread and back."""
    author = (who.kind, who.id)
    group = state.group
    if group is None:

        def alone() -> Answer[B]:
            write = make(state.checked(who, note, check))
            ctx = state.write_context(author=author)
            return state.audited(who, note, write(ctx), ctx)

        return (await run_in_threadpool(alone)).body
    if check_on_loop:
        try:
            checked = check()
        except FhirError as exc:
            if state.settings.audit_enabled:
                await run_in_threadpool(state.refused, who, note, exc)
            raise
    else:
        checked = await run_in_threadpool(state.checked, who, note, check)
    answer: Answer[B] = await group.submit(state, who, note, make(checked), author)
    return answer.body
