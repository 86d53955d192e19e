"""`wnb user list | disable | enable | reset-password | rename`: the accounts of people who
sign in."""

from __future__ import annotations

import argparse
import getpass
import json
from typing import Any

from app.settings import Settings


def add_parsers(user: Any) -> None:
    user.add_parser("list", help="accounts, their role, whether disabled, live sessions")
    for action, text in (
        ("disable", "refuse sign-in and end every session at once"),
        ("enable", "allow sign-in again"),
    ):
        user.add_parser(action, help=text).add_argument("username")
    reset = user.add_parser(
        "reset-password", help="set a new password (asked for, or --password); ends sessions"
    )
    reset.add_argument("username")
    reset.add_argument("--password", help="default: asked for without echo")
    rename = user.add_parser("rename", help="set the name pages show for the person")
    rename.add_argument("username")
    rename.add_argument("--name", required=True, help='e.g. "Jo Smith" ("" for the username)')


def run(settings: Settings, args: argparse.Namespace) -> int:
    from app.runtime import build_state
    from app.services.access import user_admin
    from app.store.migrate import upgrade_head

    upgrade_head(settings.database_url)
    state = build_state(settings)
    try:
        if args.action == "list":
            accounts = state.read(lambda s: user_admin.list_users(s, state.clock()))
            print(
                json.dumps(
                    [
                        {
                            "username": a.username,
                            "name": a.name,
                            "role": a.role,
                            "disabled": a.disabled,
                            "created_at": a.created_at.isoformat(),
                            "live_sessions": a.sessions,
                        }
                        for a in accounts
                    ],
                    indent=2,
                )
            )
        elif args.action in ("disable", "enable"):
            off = args.action == "disable"
            ended = state.write(lambda s: user_admin.set_disabled(s, args.username, off))
            ended_text = f"; ended {ended} session(s)" if off else ""
            print(f"{args.action}d {args.username}{ended_text}")
        elif args.action == "rename":
            state.write(lambda s: user_admin.rename(s, args.username, args.name))
            print(f"renamed {args.username}")
        else:
            password = args.password or getpass.getpass("new password: ")
            ended = state.write(lambda s: user_admin.reset_password(s, args.username, password))
            print(f"new password for {args.username}; ended {ended} session(s)")
    finally:
        state.engine.dispose()
    return 0
