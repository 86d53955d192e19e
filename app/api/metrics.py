"""`GET /metrics` in Prometheus text format: requests by route and status, ingest latency,
statements per request, the reconciliation backlog and lag, database pool use, families held
for an admin's word (`wnb_families_held`: an operator alert).

Per process (each API process and the worker answer for themselves). Open without a token
only to loopback callers or with `WNB_METRICS_PUBLIC=true` (a scraper inside the cluster);
anyone else gets 403. Labels carry route templates, never ids or query strings.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from sqlalchemy import Engine, event

from app.api.state import state_of
from app.fhir.errors import FhirError
from app.runtime import AppState
from app.services.agencies.subscription_ops import outbox_progress
from app.services.concerns import large_families
from app.services.concerns.operations import reconcile_backlog

_statements: ContextVar[list[int] | None] = ContextVar("wnb_statements", default=None)
LOOPBACK = {"127.0.0.1", "::1", "localhost"}


class Metrics:
    """The process's instruments, on a registry of their own (one per app)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.requests = Counter(
            "wnb_requests", "Requests answered", ["method", "route", "status"], registry=r
        )
        self.latency = Histogram(
            "wnb_request_seconds",
            "Time to answer, by route",
            ["method", "route"],
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
            registry=r,
        )
        self.statements = Histogram(
            "wnb_request_statements",
            "SQL statements per request",
            ["method", "route"],
            buckets=(1, 2, 5, 10, 15, 20, 30, 50, 100, 250, 1000),
            registry=r,
        )
        self.backlog = Gauge(
            "wnb_reconcile_backlog", "Patients whose family is due for reconciliation", registry=r
        )
        self.lag = Gauge(
            "wnb_reconcile_lag_seconds", "Age of the oldest due reconciliation", registry=r
        )
        self.pool = Gauge("wnb_db_pool_checked_out", "Database connections in use", registry=r)

        self.webhooks = Gauge(
            "wnb_webhook_messages",
            "Webhook messages in the outbox, by state",
            ["state"],
            registry=r,
        )
        self.webhook_lag = Gauge(
            "wnb_webhook_lag_seconds", "Age of the oldest pending webhook message", registry=r
        )
        self.families_held = Gauge(
            "wnb_families_held",
            "Families above WNB_FAMILY_ALERT_SIZE whose family rules wait for an admin",
            registry=r,
        )

    def observe(
        self, method: str, route: str, status: int, seconds: float, statements: int
    ) -> None:
        """One answered request (`route` a template, never a path with ids)."""
        self.requests.labels(method, route, str(status)).inc()
        self.latency.labels(method, route).observe(seconds)
        self.statements.labels(method, route).observe(statements)


@contextmanager
def counting_statements() -> Iterator[list[int]]:
    """Count the statements the current request runs (the engine's listener adds to it)."""
    counter = [0]
    token = _statements.set(counter)
    try:
        yield counter
    finally:
        _statements.reset(token)


def _count_statement(*_args: Any) -> None:
    counter = _statements.get()
    if counter is not None:
        counter[0] += 1


def count_statements(engine: Engine) -> None:
    """Count the engine's statements against the request running them (once per engine)."""
    if not event.contains(engine, "before_cursor_execute", _count_statement):
        event.listen(engine, "before_cursor_execute", _count_statement)


router = APIRouter(tags=["operations"])


@router.get(
    "/metrics",
    summary="Prometheus metrics of this process (loopback or WNB_METRICS_PUBLIC only)",
    response_class=Response,
    responses={200: {"content": {CONTENT_TYPE_LATEST: {}}}, 403: {"description": "Not allowed"}},
)
def metrics(request: Request, state: Annotated[AppState, Depends(state_of)]) -> Response:
    host = request.client.host if request.client else ""
    if not (state.settings.metrics_public or host in LOOPBACK):
        raise FhirError.one(403, "forbidden", "Metrics are open to loopback callers only.")
    found: Metrics = request.app.state.metrics
    due, oldest = state.read(lambda s: reconcile_backlog(s, state.clock()))
    found.backlog.set(due)
    found.lag.set(oldest)
    checked_out = getattr(state.engine.pool, "checkedout", None)
    found.pool.set(checked_out() if callable(checked_out) else 0)
    by_state, waited = state.read(lambda s: outbox_progress(s, state.clock()))
    for name in ("pending", "delivered", "dead"):
        found.webhooks.labels(name).set(by_state.get(name, 0))
    found.webhook_lag.set(max(0.0, waited))
    limit = state.settings.family_alert_size
    found.families_held.set(state.read(lambda s: large_families.held_count(s, limit)))
    return Response(generate_latest(found.registry), media_type=CONTENT_TYPE_LATEST)
