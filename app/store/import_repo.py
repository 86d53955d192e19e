"""Queries of an NDJSON import's progress."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from app.store.import_models import ImportProgress


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
