"""The worker: APScheduler jobs. Runs in `wnb serve` (embedded) or alone as `wnb worker`."""

from __future__ import annotations

import logging

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.base import BaseScheduler
from apscheduler.schedulers.blocking import BlockingScheduler

from app.runtime import AppState
from app.worker import jobs

log = logging.getLogger("wnb.worker")


def add_jobs(scheduler: BaseScheduler, state: AppState) -> None:
    scheduler.add_job(
        jobs.run_due_checks,
        "interval",
        seconds=state.settings.due_check_seconds,
        args=[state],
        id="due-checks",
        max_instances=1,
        coalesce=True,
    )
    scheduler.add_job(
        jobs.housekeeping,
        "interval",
        minutes=10,
        args=[state],
        id="housekeeping",
        max_instances=1,
        coalesce=True,
    )
    if state.settings.is_sqlite:
        scheduler.add_job(
            jobs.checkpoint_sqlite,
            "interval",
            minutes=5,
            args=[state],
            id="sqlite-checkpoint",
            max_instances=1,
            coalesce=True,
        )


def start_background(state: AppState) -> BackgroundScheduler:
    scheduler = BackgroundScheduler(timezone="UTC")
    add_jobs(scheduler, state)
    scheduler.start()
    log.info("worker started in-process with %d job(s)", len(scheduler.get_jobs()))
    return scheduler


def run_forever(state: AppState) -> None:
    scheduler = BlockingScheduler(timezone="UTC")
    add_jobs(scheduler, state)
    log.info("worker started with %d job(s)", len(scheduler.get_jobs()))
    scheduler.start()
