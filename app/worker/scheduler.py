"""The worker: APScheduler jobs. Runs in `wnb serve` (embedded) or alone as `wnb worker`."""

from __future__ import annotations

import logging
from collections.abc import Callable

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.base import BaseScheduler
from apscheduler.schedulers.blocking import BlockingScheduler

from app.runtime import AppState
from app.worker import jobs
from app.worker.deliveries import Deliveries

log = logging.getLogger("wnb.worker")


def _quiet_job_log() -> None:
    # APScheduler logs every run of every job at INFO: with reconciliation every few seconds
    # that buries the service's own lines. Its warnings and errors still come through.
    logging.getLogger("apscheduler.executors.default").setLevel(logging.WARNING)
    logging.getLogger("apscheduler.scheduler").setLevel(logging.WARNING)


def add_jobs(scheduler: BaseScheduler, state: AppState) -> None:
    """Every job runs alone (max_instances=1) and a missed run is not repeated (coalesce)."""
    _quiet_job_log()
    every: list[tuple[Callable[[AppState], object], str, int]] = [
        (jobs.run_reconcile, "reconcile", state.settings.due_check_seconds),
        (jobs.run_imports, "imports", state.settings.due_check_seconds),
        (jobs.seal_audit, "audit-seal", state.settings.audit_seal_seconds),
        (jobs.sweep_audit, "audit-sweep", 600),
        (jobs.housekeeping, "housekeeping", 600),
        (jobs.bound_error_backlogs, "error-backlogs", 60),
        (jobs.erase_hl7_messages, "hl7-retention", 3600),
    ]
    if state.settings.is_sqlite:
        every.append((jobs.checkpoint_sqlite, "sqlite-checkpoint", 300))
    for job, name, seconds in every:
        scheduler.add_job(
            job, "interval", seconds=seconds, args=[state], id=name, max_instances=1, coalesce=True
        )


def start_background(state: AppState) -> tuple[BackgroundScheduler, Deliveries]:
    """The scheduler and the webhook deliveries, in this process (`wnb serve`)."""
    scheduler = BackgroundScheduler(timezone="UTC")
    add_jobs(scheduler, state)
    scheduler.start()
    deliveries = Deliveries(state)
    deliveries.start()
    log.info("worker started in-process with %d job(s)", len(scheduler.get_jobs()))
    return scheduler, deliveries


def run_forever(state: AppState) -> None:
    """`wnb worker`: the scheduler and the webhook deliveries, until stopped."""
    scheduler = BlockingScheduler(timezone="UTC")
    add_jobs(scheduler, state)
    deliveries = Deliveries(state)
    deliveries.start()
    log.info("worker started with %d job(s)", len(scheduler.get_jobs()))
    try:
        scheduler.start()
    finally:
        deliveries.stop()
