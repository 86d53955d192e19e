"""The `wnb` command."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Sequence
from datetime import date
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from app import cli_audit, cli_backtest, cli_import, cli_users
from app.auth.scopes import ROLE_SCOPES
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
    mllp = sub.add_parser("mllp", help="listen for HL7 v2 messages over MLLP")
    mllp.add_argument("--port", type=int, help="default WNB_MLLP_PORT (2575 is customary)")
    mllp.add_argument("--host", help="default WNB_MLLP_HOST")
    sub.add_parser("seed-demo", help="store a small synthetic set of families and a demo nurse")
    client = sub.add_parser("client", help="machine clients").add_subparsers(
        dest="action", required=True
    )
    add = client.add_parser("add", help="register a client; prints its id and, once, its secret")
    add.add_argument("--name", required=True)
    add.add_argument("--scopes", help='SMART v2 scopes, e.g. "system/Appointment.cu"')
    add.add_argument("--role", choices=sorted(ROLE_SCOPES), help="a bundle of scopes")
    add.add_argument("--jwks", help="JSON Web Key Set file for private_key_jwt (no secret then)")
    add.add_argument(
        "--agency-type", help="with --role agency: gp, health-visiting, social-care..."
    )
    add.add_argument("--area", help="with --role agency: organisation codes served, CODE[,CODE]")
    add.add_argument(
        "--hl7-facility",
        help="with --role source: the MSH-4 sending facility of its HL7 v2 messages",
    )
    add.add_argument(
        "--full-resource",
        action="store_true",
        help="agency may subscribe to full-resource payloads",
    )
    client.add_parser("list", help="list clients")
    revoke = client.add_parser("revoke", help="revoke a client and every token it holds")
    revoke.add_argument("client_id")
    user = sub.add_parser("user", help="people who sign in").add_subparsers(
        dest="action", required=True
    )
    add_user = user.add_parser("add", help="create an account")
    add_user.add_argument("--username", required=True)
    add_user.add_argument("--password", required=True)
    add_user.add_argument("--role", required=True, choices=["nurse", "admin"])
    add_user.add_argument("--name", help='the name pages show, e.g. "Jo Smith"')
    cli_users.add_parsers(user)
    _add_rules_parser(sub)
    cli_audit.add_parsers(sub)
    cli_import.add_parser(sub)
    args = parser.parse_args(argv)
    try:
        settings = Settings()
        logging.basicConfig(
            level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s %(message)s"
        )
        logging.getLogger("alembic").setLevel(logging.WARNING)
        return COMMANDS[args.command](settings, args)
    except KeyboardInterrupt:
        return 130
    except Exception as exc:  # one clear line, not a traceback, for an operator
        print(f"wnb {args.command}: error: {one_line(exc)}", file=sys.stderr)
        return 1


def one_line(exc: Exception) -> str:
    """The first thing wrong, on one line. A settings error names the setting and never echoes
    the values it was given (they may hold secrets)."""
    if isinstance(exc, ValidationError):
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        message = str(first["msg"]).removeprefix("Value error, ")
        return f"{where}: {message}" if where else message
    text = str(exc).strip() or type(exc).__name__
    return text.splitlines()[0]


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
            "app.main:create_served_app",
            factory=True,
            host=args.host,
            port=args.port,
            workers=args.workers,
            log_level=settings.log_level.lower(),
            access_log=False,
        )
        return 0
    from app.main import create_app
    from app.runtime import build_state, settle_heap

    state = build_state(settings)
    worker = None
    if settings.run_worker:
        from app.worker.scheduler import start_background

        worker = start_background(state)
    listener = None
    if settings.mllp_port is not None:
        from app.mllp.listener import Listener

        listener = Listener.from_settings(state)
        listener.start_in_thread()
    app = create_app(state=state)
    settle_heap()
    try:
        uvicorn.run(
            app,
            host=args.host,
            port=args.port,
            log_level=settings.log_level.lower(),
            access_log=False,
        )
    finally:
        if listener is not None:
            listener.stop()
        if worker is not None:
            worker[0].shutdown(wait=False)
            worker[1].stop()
        state.engine.dispose()
    return 0


def _worker(settings: Settings, _: argparse.Namespace) -> int:
    from app.runtime import build_state, settle_heap
    from app.worker.scheduler import run_forever

    state = build_state(settings)
    settle_heap()
    run_forever(state)
    return 0


def _mllp(settings: Settings, args: argparse.Namespace) -> int:
    import asyncio

    from app.mllp.listener import Listener
    from app.runtime import build_state
    from app.store.migrate import upgrade_head

    upgrade_head(settings.database_url)
    if args.host:
        settings = settings.model_copy(update={"mllp_host": args.host})
    listener = Listener.from_settings(build_state(settings), args.port)
    asyncio.run(listener.serve_forever())
    return 0


def _seed(settings: Settings, _: argparse.Namespace) -> int:
    from app.runtime import build_state
    from app.services.intake.demo import seed, seed_nurse
    from app.store.migrate import upgrade_head

    upgrade_head(settings.database_url)
    state = build_state(settings)
    ctx = state.write_context()
    count = state.write(lambda s: seed(s, ctx), ctx)
    print(f"stored {count} demo resources (4 families)")
    login = state.write(lambda s: seed_nurse(s, state.clock()))
    if login:
        print(f"demo nurse: sign in at {settings.base_url}/login as {login[0]} / {login[1]}")
    else:
        print("demo nurse already exists (username: demo-nurse)")
    return 0


def _client(settings: Settings, args: argparse.Namespace) -> int:
    from app.runtime import build_state
    from app.services.access import clients
    from app.store import auth_repo
    from app.store.migrate import upgrade_head

    upgrade_head(settings.database_url)
    state = build_state(settings)
    now = state.clock()
    if args.action == "add":
        from app.services.agencies.agency_client import ClientAsked, add_agency_or_client

        jwks = json.loads(Path(args.jwks).read_text()) if args.jwks else None
        asked = ClientAsked(
            name=args.name,
            role=args.role,
            scopes=args.scopes,
            agency_type=args.agency_type,
            area=args.area,
            full_resource=bool(args.full_resource),
            hl7_facility=getattr(args, "hl7_facility", None),
        )
        new = state.write(lambda s: add_agency_or_client(s, asked, jwks, now))
        out = {"client_id": new.client_id, "scopes": new.scopes}
        if new.client_secret:
            out["client_secret"] = new.client_secret
        print(json.dumps(out, indent=2))
    elif args.action == "list":
        rows = state.read(auth_repo.all_clients)
        print(
            json.dumps(
                [
                    {
                        "client_id": c.client_id,
                        "name": c.name,
                        "role": c.role,
                        "scopes": c.scopes,
                        "auth": "private_key_jwt" if c.jwks else "secret",
                        "revoked": c.revoked_at is not None,
                    }
                    for c in rows
                ],
                indent=2,
            )
        )
    else:
        state.write(lambda s: clients.revoke_client(s, args.client_id, now))
        print(f"revoked {args.client_id}")
    return 0


def _user(settings: Settings, args: argparse.Namespace) -> int:
    if args.action != "add":
        return cli_users.run(settings, args)
    from app.runtime import build_state
    from app.services.access.users import add_user
    from app.store.migrate import upgrade_head

    upgrade_head(settings.database_url)
    state = build_state(settings)
    state.write(
        lambda s: add_user(s, args.username, args.password, args.role, state.clock(), args.name)
    )
    print(f"created {args.role} {args.username}")
    return 0


def _add_rules_parser(sub: Any) -> None:
    rules = sub.add_parser("rules", help="check and backtest rule files").add_subparsers(
        dest="action", required=True
    )
    check = rules.add_parser("check", help="validate a rule file or folder")
    check.add_argument("path", nargs="?", type=Path, help="default: the configured rules dir")
    back = rules.add_parser(
        "backtest",
        help="what a rule file would have flagged in the stored history (read-only), "
        "against the rules of the same ids in force",
    )
    back.add_argument("rulefile", type=Path, nargs="?", help="the rule file to replay")
    back.add_argument(
        "--compare",
        nargs=2,
        type=Path,
        metavar=("CURRENT", "PROPOSED"),
        help="the weekly number of concerns, and which children change, from CURRENT to PROPOSED",
    )
    back.add_argument("--since", type=date.fromisoformat, help="report firings from YYYY-MM-DD")
    back.add_argument("--json", action="store_true", help="the report as JSON (as the API)")
    back.add_argument("--limit", type=int, help="firings listed (text default 100, JSON all)")


def _rules(settings: Settings, args: argparse.Namespace) -> int:
    from app.rules import RuleFileError, load_rules

    if args.action == "backtest" and (args.rulefile is None) == (args.compare is None):
        print("give a rule file, or --compare CURRENT PROPOSED", file=sys.stderr)
        return 2
    try:
        if args.action == "backtest" and args.compare:
            pair = (load_rules(args.compare[0]), load_rules(args.compare[1]))
            return cli_backtest.compare(settings, pair, args)
        rules = load_rules(
            args.rulefile if args.action == "backtest" else args.path or settings.rules_dir
        )
    except RuleFileError as exc:
        print(exc, file=sys.stderr)
        return 1
    if args.action == "check":
        print(f"ok: {len(rules.rules)} rules ({', '.join(r.id for r in rules.rules)})")
        return 0
    return cli_backtest.backtest(settings, rules, args)


COMMANDS = {
    "serve": _serve,
    "migrate": _migrate,
    "worker": _worker,
    "mllp": _mllp,
    "seed-demo": _seed,
    "client": _client,
    "user": _user,
    "rules": _rules,
    "audit": cli_audit.audit,
    "db": cli_audit.db,
    "import": cli_import.run,
}

if __name__ == "__main__":
    sys.exit(main())
