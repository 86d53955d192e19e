"""`wnb import FILE.ndjson[.gz] ...`: a backfill from a child health record or GP extract,
with a progress bar, a summary and the refused lines (to a file with `--refusals`)."""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from app.settings import Settings

if TYPE_CHECKING:  # the command's modules load when it runs, not when `wnb` starts
    from app.import_run import ImportOptions
    from app.runtime import AppState

SHOWN_REFUSALS = 20  # on the terminal; the refusals file has every one


def add_parser(sub: Any) -> None:
    imp = sub.add_parser(
        "import",
        help="store NDJSON files (one FHIR resource per line; gzip when named .gz) through "
        "the write path of the REST API; resumes an interrupted import",
    )
    imp.add_argument("files", nargs="+", type=Path, metavar="FILE")
    imp.add_argument(
        "--client",
        required=True,
        help="the registered client (role source) the import writes as: its scopes apply "
        "and the audit trail names it",
    )
    imp.add_argument("--refusals", type=Path, help="append each refused line here as NDJSON")
    imp.add_argument(
        "--restart", action="store_true", help="start from the first line, not where it stopped"
    )
    imp.add_argument("--batch", type=int, default=500, help="lines per transaction")


def run(settings: Settings, args: argparse.Namespace) -> int:
    from app.import_run import ImportOptions
    from app.runtime import build_state
    from app.store.migrate import upgrade_head

    upgrade_head(settings.database_url)
    state = build_state(settings)
    sink = args.refusals.open("ab") if args.refusals else None
    options = ImportOptions(args.client, max(1, args.batch), args.restart, sink)
    refused = 0
    try:
        for path in args.files:
            refused += _import_one(state, path, options, args.refusals)
    except KeyboardInterrupt:
        # Every batch that committed is kept with the file's progress.
        print("interrupted: run the same command again to continue after the last batch")
        return 130
    finally:
        if sink is not None:
            sink.close()
        state.engine.dispose()
    print("families are re-judged by the worker (wnb_reconcile_backlog in /metrics)")
    return 2 if refused else 0


def _import_one(state: AppState, path: Path, options: ImportOptions, sink: Path | None) -> int:
    """Import one file with a progress bar on stderr; print its summary; how many refused."""
    from rich.console import Console
    from rich.progress import BarColumn, DownloadColumn, Progress, TimeRemainingColumn

    from app.import_run import import_file

    started = time.monotonic()
    with Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        DownloadColumn(),
        TimeRemainingColumn(),
        console=Console(stderr=True),
        transient=True,
    ) as bar:
        task = bar.add_task(path.name, total=path.stat().st_size)
        summary = import_file(
            state, path, options, lambda done, _total: bar.update(task, completed=done)
        )
    seconds = max(time.monotonic() - started, 1e-9)
    done = summary.stored + summary.unchanged + len(summary.refused)
    resumed = f" (resumed after line {summary.resumed_after})" if summary.resumed_after else ""
    print(
        f"{path}{resumed}: stored {summary.stored}, unchanged {summary.unchanged}, "
        f"refused {len(summary.refused)} ({done / seconds:.0f} lines/s)"
    )
    for r in summary.refused[:SHOWN_REFUSALS]:
        issue = r.issues[0] if r.issues else None
        where = f" at {issue.expression}" if issue and issue.expression else ""
        print(f"  line {r.line}: {r.status}{where}: {issue.diagnostics if issue else ''}")
    more = len(summary.refused) - SHOWN_REFUSALS
    if more > 0:
        print(f"  ... {more} more in {sink}" if sink else f"  ... {more} more (see --refusals)")
    return len(summary.refused)
