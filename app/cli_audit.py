"""`wnb audit verify`, `wnb audit anchor` and `wnb db service-grants`: the tamper-evident
trail and the database role the service runs as."""

from __future__ import annotations

import argparse
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from app.settings import Settings


def add_parsers(sub: Any) -> None:
    audit = sub.add_parser("audit", help="the audit trail").add_subparsers(
        dest="action", required=True
    )
    verify = audit.add_parser(
        "verify",
        help="walk the hash chain (keyed with WNB_AUDIT_KEY); report the first row altered, "
        "removed or reordered (exit 1), else the head to note elsewhere",
    )
    verify.add_argument(
        "--anchors",
        type=Path,
        help="a file `wnb audit anchor` appended to: every head noted there must still be "
        "in the chain with the same hash",
    )
    anchor = audit.add_parser(
        "anchor",
        help="append the chain's head (seq and hash) to FILE, kept where the database's "
        "owner cannot write; `verify --anchors FILE` checks against it",
    )
    anchor.add_argument("file", type=Path)
    db = sub.add_parser("db", help="database roles").add_subparsers(dest="action", required=True)
    grants = db.add_parser(
        "service-grants",
        help="print the SQL (PostgreSQL) giving ROLE what the service needs: run it as the "
        "owner after each migrate",
    )
    grants.add_argument("role")


def audit(settings: Settings, args: argparse.Namespace) -> int:
    from app.store.audit_chain import verify
    from app.store.audit_key import load_audit_keys
    from app.store.db import make_engine, make_session_factory

    keys = load_audit_keys(settings)
    anchors = read_anchors(args.anchors) if getattr(args, "anchors", None) else {}
    engine = make_engine(settings)
    try:
        with make_session_factory(engine, readonly=True)() as session:
            report = verify(session, keys, anchors)
    finally:
        engine.dispose()
    before = f"; {report.unchained} rows waiting for their seal" if report.unchained else ""
    if report.problem:
        print(f"BROKEN after {report.checked} good rows: {report.problem}{before}")
        return 1
    if args.action == "anchor":
        with args.file.open("a") as f:
            f.write(f"{report.head_seq} {report.head_hash} {datetime.now(UTC).isoformat()}\n")
    keyed = "; no row keyed"
    if report.keyed_from is not None:
        keyed = f"; keyed from seq {report.keyed_from}"
    checked = f"; {len(anchors)} anchors match" if anchors else ""
    print(
        f"ok: {report.checked} rows chained; head seq {report.head_seq} "
        f"hash {report.head_hash}{keyed}{checked}{before}"
    )
    return 0


def read_anchors(path: Path) -> dict[int, str]:
    """`SEQ HASH [when]` a line, as `wnb audit anchor` writes them."""
    anchors: dict[int, str] = {}
    for number, line in enumerate(path.read_text().splitlines(), 1):
        parts = line.split()
        if not parts:
            continue
        if len(parts) < 2 or not parts[0].isdigit() or len(parts[1]) != 64:
            raise ValueError(f"{path} line {number}: expected 'SEQ HASH', as audit anchor writes")
        anchors[int(parts[0])] = parts[1]
    return anchors


def db(settings: Settings, args: argparse.Namespace) -> int:
    from app.store.service_role import service_role_grants

    for statement in service_role_grants(args.role):
        print(f"{statement};")
    return 0
