"""Queries of an NDJSON import's progress."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session, aliased

from app.store.import_models import ImportJob, ImportProgress


def progress_of(session: Session, file_key: str) -> ImportProgress | None:
    return session.get(ImportProgress, file_key)


def begin(session: Session, file_key: str, path: str, now: datetime) -> ImportProgress:
    """The file's progress, new (or back at the first line, for `--restart`)."""
    row = session.get(ImportProgress, file_key, with_for_update=True)
    if row is None:
        row = ImportProgress(file_key=file_key, path=path)
        session.add(row)
    row.lines_done = row.stored = row.unchanged = row.refused = 0
    row.started_at = row.updated_at = now
    row.finished_at = None
    session.flush()
    return row


def advance(
    session: Session,
    file_key: str,
    lines_done: int,
    counts: tuple[int, int, int],
    now: datetime,
    finished: bool,
) -> None:
    """Record a batch as done, in the batch's own transaction."""
    row = session.get(ImportProgress, file_key, with_for_update=True)
    if row is None:
        raise RuntimeError("import progress missing: begin() was not committed")
    row.lines_done = lines_done
    row.stored += counts[0]
    row.unchanged += counts[1]
    row.refused += counts[2]
    row.updated_at = now
    row.finished_at = now if finished else None
    session.flush()


def add_job(session: Session, row: dict[str, object]) -> None:
    session.add(ImportJob(**row))
    session.flush()


def job_of(session: Session, job_id: str) -> ImportJob | None:
    return session.get(ImportJob, job_id)


def claim_job(session: Session, now: datetime, stale_before: datetime) -> ImportJob | None:
    """The oldest job to run: queued, or running with no batch committed since
    `stale_before` (its worker died; it resumes after its last batch). Marked running."""
    progress = aliased(ImportProgress)
    query = (
        select(ImportJob)
        .outerjoin(progress, progress.file_key == ImportJob.id)
        .where(
            or_(
                ImportJob.status == "queued",
                and_(
                    ImportJob.status == "running",
                    progress.updated_at < stale_before,
                ),
            )
        )
        .order_by(ImportJob.created_at)
        .limit(1)
        .with_for_update(of=ImportJob, skip_locked=True)
    )
    job = session.scalars(query).first()
    if job is not None:
        job.status = "running"
        row = session.get(ImportProgress, job.id)
        if row is not None:
            row.updated_at = now  # taken: not stale again until its batches stop
        session.flush()
    return job


def finish_job(session: Session, job_id: str, now: datetime) -> None:
    job = session.get(ImportJob, job_id, with_for_update=True)
    if job is None:
        raise RuntimeError("import job vanished while it ran")
    job.status, job.finished_at = "done", now
    job.body = None  # the lines are stored resources now; the refusals keep their text
    session.flush()
