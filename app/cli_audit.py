"""`wnb audit verify` and `wnb db service-grants`: the tamper-evident trail and the database
role the service runs as."""

from __future__ import annotations

import argparse
from typing import Any

from app.settings import Settings


def add_parsers(sub: Any) -> None:
    audit = sub.add_parser("audit", help="the audit trail").add_subparsers(
        dest="action", required=True
    )
    audit.add_parser(
        "verify",
        help="walk the hash chain; report the first row altered, removed or reordered "
        "(exit 1), else the head to note elsewhere",
    )
    db = sub.add_parser("db", help="database roles").add_subparsers(dest="action", required=True)
    grants = db.add_parser(
        "service-grants",
        help="print the SQL (PostgreSQL) giving ROLE what the service needs: run it as the "
        "owner after each migrate",
    )
    grants.add_argument("role")


def audit(settings: Settings, _: argparse.Namespace) -> int:
    from app.store.audit_chain import verify
    from app.store.db import make_engine, make_session_factory

    engine = make_engine(settings)
    try:
        with make_session_factory(engine, readonly=True)() as session:
            report = verify(session)
    finally:
        engine.dispose()
    before = f"; {report.unchained} rows waiting for their seal" if report.unchained else ""
    if report.problem:
        print(f"BROKEN after {report.checked} good rows: {report.problem}{before}")
        return 1
    print(
        f"ok: {report.checked} rows chained; head seq {report.head_seq} "
        f"hash {report.head_hash}{before}"
    )
    return 0


def db(settings: Settings, args: argparse.Namespace) -> int:
    from app.store.service_role import service_role_grants

    for statement in service_role_grants(args.role):
        print(f"{statement};")
    return 0
