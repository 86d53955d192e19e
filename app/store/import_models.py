"""How far an NDJSON import has got: kept in the transaction of each batch it commits, so an
interrupted import starts again after the last batch that committed, never before it (no line
written twice) nor after it (no line lost)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.store.base import Base, UtcDateTime


class ImportProgress(Base):
    __tablename__ = "import_progress"
    # sha256 of the file's path, size and first block: the same file named again resumes; a
    # file that changed (or another file at the same path) starts from the beginning.
    file_key: Mapped[str] = mapped_column(String(64), primary_key=True)
    path: Mapped[str] = mapped_column(Text)
    lines_done: Mapped[int] = mapped_column(Integer, default=0)
    stored: Mapped[int] = mapped_column(Integer, default=0)
    unchanged: Mapped[int] = mapped_column(Integer, default=0)
    refused: Mapped[int] = mapped_column(Integer, default=0)
    started_at: Mapped[datetime] = mapped_column(UtcDateTime())
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UtcDateTime())


class ImportJob(Base):
    """An NDJSON body sent to `POST /fhir/$import`: kept until the worker has imported it
    (its progress is the `import_progress` row of the same key), then the refusals, as
    NDJSON OperationOutcomes, for the status URL's error manifest."""

    __tablename__ = "import_job"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    client_id: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16), index=True)  # queued | running | done
    body: Mapped[str | None] = mapped_column(Text)  # erased once done
    lines: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    output: Mapped[str | None] = mapped_column(Text)  # JSON: stored/unchanged per type
    errors: Mapped[str | None] = mapped_column(Text)  # NDJSON OperationOutcomes
