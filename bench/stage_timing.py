"""CPU time and statements by stage, for bench/stages.py.

A stage begins where one of its functions is entered; the CPU time of the thread running it
(time.thread_time) is charged to the innermost stage on that thread's stack. A sub-stage
(`parent` set) counts only while its parent stage, or one of its siblings, is the innermost:
elsewhere the same function stays in whatever stage called it.
"""

from __future__ import annotations

import argparse
import functools
import importlib
import inspect
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Stage:
    name: str
    targets: tuple[str, ...]  # "module:function" or "module:Class.method"
    parent: str | None = None
    post_budget: float = 0.0  # share of a single POST's budget
    entry_budget: float = 0.0  # share of a Bundle entry's budget


W, R = "writes", "reconciliation"
STAGES = (
    Stage("authentication", ("app.api.security:current_principal",
                             "app.api.security:require_all", "app.api.security:require",
                             "app.services.access.authenticate:Authenticator.principal"),
          None, 0.03, 0.0),
    Stage("body read and parse", ("app.api.body:read_json", "app.fhir.parse:load_json",
                                  "app.fhir.parse:bundle_within"), None, 0.03, 0.05),
    Stage("validation", ("app.fhir.parse:validate_structure", "app.fhir.checks:check_resource",
                         "app.services.records.write_guard:check_client_writes",
                         "app.services.records.bundle:entry_request"), None, 0.20, 0.30),
    Stage("reference resolution and identity", ("app.services.records.resolve:resolve_references",
                                                "app.services.records.ingest:_plan_group"),
          None, 0.06, 0.05),
    Stage(W, ("app.services.records.ingest:write_resources",), None, 0.04, 0.04),
    Stage("writes: outcome coding, birth dates", (
        "app.services.records.ingest:_finish_group",
        "app.services.records.impossible_outcomes:refuse_impossible_outcomes"), W, 0.05, 0.05),
    # A few new resources go in one statement with their search values and coded events
    # (`insert_new`): their cost is all counted here, the next two stages' only for updates.
    Stage("writes: resource and version rows", (
        "app.store.resources_repo:insert_resources", "app.store.resources_repo:update_resources",
        "app.store.resources_repo:insert_versions", "app.store.resources_repo:insert_new"),
          W, 0.06, 0.10),
    Stage("writes: search values, identifiers", ("app.store.resources_repo:replace_values",),
          W, 0.04, 0.06),
    Stage("writes: coded events", ("app.store.events_repo:remove_events",
                                   "app.store.events_repo:add_events"), W, 0.03, 0.04),
    Stage("writes: families, statuses (after_write)", (
        "app.services.records.consequences:after_write",), W, 0.03, 0.03),
    Stage(R, ("app.services.concerns.reconcile:settle",), None, 0.03, 0.02),
    Stage("reconciliation: lock families, load facts", (
        "app.services.concerns.reconcile:_locked_members",
        "app.services.concerns.family_facts:load",
        "app.services.concerns.large_families:held"), R, 0.06, 0.06),
    Stage("reconciliation: rules (pure)", ("app.rules.desired:desired_flags",
                                           "app.rules.desired:next_due",
                                           "app.rules.concerns:desired_concerns"),
          R, 0.04, 0.04),
    Stage("reconciliation: flags read and compared", (
        "app.store.flags_repo:flags_of_children", "app.services.concerns.flags:judged",
        "app.services.concerns.withdrawal_reasons:explain", "app.services.concerns.flags:compare",
        "app.store.reconcile_repo:set_marks"), R, 0.04, 0.03),
    Stage("reconciliation: flag rows and Flag versions", (
        "app.store.flags_repo:add_many", "app.store.flags_repo:change_many",
        "app.services.concerns.flag_store:store_flags"), R, 0.05, 0.03),
    Stage("outbox / notify", ("app.services.concerns.flag_events:reconciled_events",
                              "app.notify.outbox:enqueue_flag_events"), None, 0.03, 0.02),
    Stage("audit", ("app.services.access.audit:record",), None, 0.04, 0.01),
    Stage("commit", ("sqlalchemy.orm:Session.commit",), None, 0.02, 0.01),
    Stage("response rendering", ("app.api.responses:write_response",
                                 "app.services.records.bundle:_response",
                                 "app.services.records.bundle:_entry",
                                 "starlette.responses:Response.__call__"), None, 0.02, 0.02),
)
OTHER = "other (routing, middleware, DI, threads, sessions)"
BUDGET_OTHER = (0.06, 0.06)
FAMILY = {s.name: (s.parent or s.name) for s in STAGES}


class StageTiming:
    def __init__(self) -> None:
        self._local = threading.local()
        self._lock = threading.Lock()
        self._cpu: list[Counter[str]] = []
        self.statements: Counter[str] = Counter()
        self.shapes: Counter[tuple[str, str]] = Counter()  # (stage, first words of the SQL)
        self.active = False  # statements count only while the wrappers are installed

    def _frame(self) -> tuple[list[str], Counter[str]]:
        local = self._local
        if not hasattr(local, "stack"):
            local.stack, local.cpu, local.mark = [], Counter(), 0.0
            with self._lock:
                self._cpu.append(local.cpu)
        return local.stack, local.cpu

    def _enter(self, stage: Stage) -> bool:
        stack, cpu = self._frame()
        if stage.parent is not None and (not stack or FAMILY[stack[-1]] != stage.parent):
            return False
        now = time.thread_time()
        if stack:
            cpu[stack[-1]] += now - self._local.mark
        stack.append(stage.name)
        self._local.mark = now
        return True

    def _leave(self) -> None:
        stack, cpu = self._frame()
        now = time.thread_time()
        cpu[stack.pop()] += now - self._local.mark
        self._local.mark = now

    def statement(self, _conn: Any, _cursor: Any, sql: str, *_: Any) -> None:
        if not self.active:
            return
        stack, _cpu = self._frame()
        stage = stack[-1] if stack else OTHER
        self.statements[stage] += 1
        self.shapes[(stage, " ".join(sql.split()[:6]))] += 1

    def wrap(self, fn: Callable[..., Any], stage: Stage) -> Callable[..., Any]:
        if inspect.iscoroutinefunction(fn):

            @functools.wraps(fn)
            async def wrapped_async(*args: Any, **kwargs: Any) -> Any:
                entered = self._enter(stage)
                try:
                    return await fn(*args, **kwargs)
                finally:
                    if entered:
                        self._leave()

            return wrapped_async

        @functools.wraps(fn)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            entered = self._enter(stage)
            try:
                return fn(*args, **kwargs)
            finally:
                if entered:
                    self._leave()

        return wrapped

    @contextmanager
    def installed(self) -> Iterator[None]:
        """Every reference to a stage function, in app's modules and on classes, wrapped."""
        undo: list[tuple[Any, str, Any]] = []
        for stage in STAGES:
            for target in stage.targets:
                module_name, _, path = target.partition(":")
                owner: Any = importlib.import_module(module_name)
                *classes, attr = path.split(".")
                for cls in classes:
                    owner = getattr(owner, cls)
                original = owner.__dict__[attr]
                wrapper = self.wrap(original, stage)
                places = [owner] if classes else [
                    m for n, m in list(sys.modules.items())
                    if m is not None and (n == module_name or n.startswith("app."))
                ]
                for place in places:
                    for key, value in list(vars(place).items()):
                        if value is original:
                            undo.append((place, key, value))
                            setattr(place, key, wrapper)
        self.active = True
        try:
            yield
        finally:
            self.active = False
            for place, key, value in reversed(undo):
                setattr(place, key, value)

    def reset(self) -> None:
        with self._lock:
            for cpu in self._cpu:
                cpu.clear()
        self.statements.clear()
        self.shapes.clear()

    def take(self, server_cpu: float, per: int, shapes: list[str] | None = None
             ) -> dict[str, tuple[float, float]]:
        """(ms CPU, statements) per `per` (requests or entries) by stage, and reset;
        `shapes` gets the statements' first words by stage, with counts per `per`."""
        if shapes is not None:
            shapes += [f"{n / per:6.2f}  {stage}: {sql}"
                       for (stage, sql), n in sorted(self.shapes.items())]
        total: Counter[str] = Counter()
        with self._lock:
            for cpu in self._cpu:
                total.update(cpu)
        out = {s.name: (total[s.name] * 1000 / per, self.statements[s.name] / per)
               for s in STAGES}
        claimed = sum(total.values())
        out[OTHER] = ((server_cpu - claimed) * 1000 / per, self.statements[OTHER] / per)
        out["total"] = (server_cpu * 1000 / per, sum(self.statements.values()) / per)
        self.reset()
        return out


def report(
    post: dict[str, tuple[float, float]],
    entry: dict[str, tuple[float, float]],
    floor_ms: float,
    args: argparse.Namespace,
    size: int,
) -> str:
    """The Markdown table. Budgets: a single POST within floor/0.4 (issue 21's target this
    round), a Bundle entry within 0.2 ms (5,000 appointments/s on one of two cores, the
    other left to PostgreSQL)."""
    post_total, entry_total = post["total"][0], entry["total"][0]
    post_budget, entry_budget = floor_ms / 0.4, 0.2
    rows = [
        f"Single noshow POSTs: {args.posts}; transaction Bundles: {args.bundles} x {size} "
        f"noshow appointments; {args.children} children with {args.history} earlier outcomes each.",
        "",
        "| stage | POST ms CPU | share | POST statements | Bundle ms per entry | share "
        "| Bundle statements (per Bundle) | budget POST ms | budget entry ms |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    budgets = {s.name: (s.post_budget, s.entry_budget) for s in STAGES}
    budgets[OTHER] = BUDGET_OTHER
    for name in [*(s.name for s in STAGES), OTHER]:
        (pm, ps), (em, es) = post[name], entry[name]
        pb, eb = budgets[name]
        rows.append(
            f"| {name} | {pm:.2f} | {pm / post_total:.0%} | {ps:.1f} | {em:.3f} | "
            f"{em / entry_total:.0%} | {es:.1f} | {pb * post_budget:.2f} | "
            f"{eb * entry_budget:.3f} |"
        )
    rows.append(
        f"| **total (server CPU)** | **{post_total:.2f}** | 100% | {post['total'][1]:.1f} | "
        f"**{entry_total:.3f}** | 100% | {entry['total'][1]:.1f} | "
        f"{post_budget:.2f} | {entry_budget:.3f} |"
    )
    rows.append(
        f"| FLOOR (R4B validate + 1 insert + commit), same run | {floor_ms:.2f} | | 1 | | | | | |"
    )
    rows += [
        "",
        f"Service / floor, CPU per single POST: {post_total / floor_ms:.1f}x the floor's CPU "
        f"(so at best {floor_ms / post_total:.2f}x its rate when CPU-bound); the budget "
        f"column is floor / 0.4 = {post_budget:.2f} ms. Bundles: {entry_total:.3f} ms per "
        f"entry = {1000 / entry_total:,.0f} entries/s of one core (budget 0.2 ms = 5,000/s).",
    ]
    return "\n".join(rows)
