"""Import NDJSON files (gzip when named .gz): read them a batch of lines at a time, commit
each batch with the file's progress, write the refused lines to a refusals file, and resume
an interrupted import after its last committed batch. The command line (`wnb import`) shows
the progress; this module only reports it through a callback."""

from __future__ import annotations

import gzip
import hashlib
import io
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import IO

import orjson
from sqlalchemy.orm import Session

from app.auth.principal import Principal
from app.fhir.errors import FhirError
from app.runtime import AppState
from app.services.intake import import_jobs
from app.services.intake.bulk_import import (
    BatchOutcome,
    Line,
    Position,
    Refusal,
    begin_file,
    import_batch,
    importer,
    resume_point,
)

BATCH_LINES = 500
HEAD_BYTES = 65536  # enough of the file to tell it from another one of the same size


@dataclass
class ImportOptions:
    client_id: str
    batch_lines: int = BATCH_LINES
    restart: bool = False
    refusals: IO[bytes] | None = None  # NDJSON: line, status, diagnostics, expression, text
    stop_after: int | None = None  # batches; an interruption, for tests
    job_id: str | None = None  # a `$import` job: its counts and refusals kept with it


@dataclass
class FileSummary:
    path: str
    stored: int = 0
    unchanged: int = 0
    refused: list[Refusal] = field(default_factory=list)
    resumed_after: int = 0  # lines committed by an earlier, interrupted run
    finished: bool = False


Progress = Callable[[int, int], None]  # (bytes read, bytes in the file)


def import_file(
    state: AppState, path: Path, options: ImportOptions, progress: Progress | None = None
) -> FileSummary:
    size = path.stat().st_size
    with path.open("rb") as raw:
        gz = path.name.endswith(".gz")
        return _import(state, file_key(path), str(path), raw, size, gz, options, progress)


def run_jobs(state: AppState) -> int:
    """Import the queued `$import` jobs one after another (the worker's job); how many."""
    done = 0
    while (job := state.write(lambda s: import_jobs.claim(s, state.clock()))) is not None:
        options = ImportOptions(job.client_id, job_id=job.id)
        try:
            _import(
                state,
                job.id,
                f"$import {job.id}",
                io.BytesIO(job.body),
                len(job.body),
                False,
                options,
                None,
            )
        except FhirError as exc:
            if exc.status >= 500:
                raise
            # The client was revoked since: the job ends, its reason in the error file.
            state.write(partial(import_jobs.fail, job_id=job.id, exc=exc, now=state.clock()))
        done += 1
    return done


def _import(
    state: AppState,
    key: str,
    name: str,
    raw: IO[bytes],
    size: int,
    gz: bool,
    options: ImportOptions,
    progress: Progress | None,
) -> FileSummary:
    who = state.read(lambda s: importer(s, options.client_id))
    summary = FileSummary(name)
    if not options.restart:
        summary.resumed_after = state.read(lambda s: resume_point(s, key))
    if summary.resumed_after == 0:
        state.write(lambda s: begin_file(s, key, name, state.clock()))
    last = summary.resumed_after
    batches = _batches(raw, gz, summary.resumed_after, options.batch_lines)
    for count, batch in enumerate(batches):
        if options.stop_after is not None and count == options.stop_after:
            return summary
        last = batch[-1].number
        outcome = _commit(state, who, batch, Position(key, last, False), options)
        summary.stored += outcome.stored
        summary.unchanged += outcome.unchanged
        summary.refused += outcome.refused
        if progress is not None:
            progress(raw.tell(), size)
    state.write(lambda s: _finish(s, state, who, key, last, options.job_id))
    summary.finished = True
    return summary


def file_key(path: Path) -> str:
    """Path, size and first block: the same file named again resumes; another does not."""
    with path.open("rb") as f:
        head = f.read(HEAD_BYTES)
    stat = path.stat()
    text = f"{path.resolve()}\n{stat.st_size}\n{hashlib.sha256(head).hexdigest()}"
    return hashlib.sha256(text.encode()).hexdigest()


def _commit(
    state: AppState, who: Principal, batch: list[Line], at: Position, options: ImportOptions
) -> BatchOutcome:
    ctx = state.write_context(author=(who.kind, who.id))

    def unit(session: Session) -> BatchOutcome:
        outcome = import_batch(session, batch, ctx, who, at)
        if options.job_id is not None:
            import_jobs.note_batch(session, options.job_id, outcome)
        # Before the commit: a crash between the two repeats a refusal on resume rather
        # than losing it.
        _write_refusals(options.refusals, outcome.refused, batch)
        return outcome

    return state.write(unit, ctx)


def _finish(
    session: Session, state: AppState, who: Principal, key: str, last: int, job: str | None
) -> None:
    ctx = state.write_context()
    import_batch(session, [], ctx, who, Position(key, last, True))
    if job is not None:
        import_jobs.finish(session, job, ctx.now)


def _batches(raw: IO[bytes], gz: bool, skip: int, size: int) -> Iterator[list[Line]]:
    stream: IO[bytes] | gzip.GzipFile = gzip.GzipFile(fileobj=raw) if gz else raw
    batch: list[Line] = []
    for number, text in enumerate(stream, start=1):
        if number <= skip or not text.strip():
            continue
        batch.append(Line(number, text.rstrip(b"\r\n")))
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def _write_refusals(sink: IO[bytes] | None, refused: list[Refusal], batch: list[Line]) -> None:
    if sink is None or not refused:
        return
    text = {line.number: line.text for line in batch}
    for r in refused:
        issue = r.issues[0] if r.issues else None
        row = {
            "line": r.line,
            "status": r.status,
            "diagnostics": issue.diagnostics if issue else None,
            "expression": [issue.expression] if issue and issue.expression else [],
            "text": text[r.line].decode("utf-8", "replace"),
        }
        sink.write(orjson.dumps(row) + b"\n")
    sink.flush()
