"""The `wnb` command."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence

from app.settings import Settings


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="wnb", description="Was Not Brought trigger service")
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser(
        "serve",
        help="migrate if needed, then serve the API (and, on the embedded default, the worker)",
    )
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument(
        "--workers",
        type=int,
        default=1,
        help="API processes; with more than one the worker must run separately",
    )
    sub.add_parser("migrate", help="upgrade the database to the newest schema")
    sub.add_parser("worker", help="run the scheduler alone (production)")
    sub.add_parser("seed-demo", help="store a small synthetic set of families")
    args = parser.parse_args(argv)
    try:
        settings = Settings()
        logging.basicConfig(
            level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s %(message)s"
        )
        return COMMANDS[args.command](settings, args)
    except KeyboardInterrupt:
        return 130
    except Exception as exc:  # one clear line, not a traceback, for an operator
        print(f"wnb {args.command}: error: {exc}", file=sys.stderr)
        return 1


def _migrate(settings: Settings, _: argparse.Namespace) -> int:
    from app.store.migrate import upgrade_head

    upgrade_head(settings.database_url)
    print("database is at the newest schema")
    return 0


def _serve(settings: Settings, args: argparse.Namespace) -> int:
    import uvicorn

    from app.store.migrate import upgrade_head

    upgrade_head(settings.database_url)
    if args.workers > 1:
        uvicorn.run(
            "app.main:create_app",
            factory=True,
            host=args.host,
            port=args.port,
            workers=args.workers,
            log_level=settings.log_level.lower(),
            access_log=False,
        )
        return 0
    from app.main import create_app
    from app.runtime import build_state

    state = build_state(settings)
    scheduler = None
    if settings.run_worker:
        from app.worker.scheduler import start_background

        scheduler = start_background(state)
    try:
        uvicorn.run(
            create_app(state=state),
            host=args.host,
            port=args.port,
            log_level=settings.log_level.lower(),
            access_log=False,
        )
    finally:
        if scheduler is not None:
            scheduler.shutdown(wait=False)
        state.engine.dispose()
    return 0


def _worker(settings: Settings, _: argparse.Namespace) -> int:
    from app.runtime import build_state
    from app.worker.scheduler import run_forever

    run_forever(build_state(settings))
    return 0


def _seed(settings: Settings, _: argparse.Namespace) -> int:
    from app.runtime import build_state
    from app.services.demo import seed
    from app.store.migrate import upgrade_head

    upgrade_head(settings.database_url)
    state = build_state(settings)
    count = state.write(lambda s: seed(s, state.write_context()))
    print(f"stored {count} demo resources (4 families); try GET /fhir/Appointment?status=noshow")
    return 0


COMMANDS = {"serve": _serve, "migrate": _migrate, "worker": _worker, "seed-demo": _seed}

if __name__ == "__main__":
    sys.exit(main())
