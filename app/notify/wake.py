"""Waking the delivery loop as soon as an outbox row commits, instead of at the next poll.
In-process: a threading.Event set after the session's commit. Across processes (PostgreSQL):
`pg_notify` inside the transaction, which PostgreSQL delivers only if it commits."""

from __future__ import annotations

import threading

from sqlalchemy import event, text
from sqlalchemy.orm import Session

CHANNEL = "wnb_outbox"
_FLAG = "wnb_outbox_written"
_signal = threading.Event()
_installed = threading.Lock()
_listening = False


def on_commit(session: Session) -> None:
    """Wake deliverers once this session's transaction commits (never if it rolls back)."""
    _install()
    session.info[_FLAG] = True
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_notify(:channel, '')"), {"channel": CHANNEL})


def wake() -> None:
    """Wake the in-process deliverer now (tests, the PostgreSQL listener)."""
    _signal.set()


def wait(timeout: float) -> bool:
    """Block until woken or `timeout` seconds pass; True when woken."""
    woken = _signal.wait(timeout)
    _signal.clear()
    return woken


def _install() -> None:
    # Registered on first use, not at import: importing this module does no work.
    global _listening
    with _installed:
        if not _listening:
            event.listen(Session, "after_commit", _after_commit)
            event.listen(Session, "after_rollback", _after_rollback)
            _listening = True


def _after_commit(session: Session) -> None:
    if session.info.pop(_FLAG, False):
        _signal.set()


def _after_rollback(session: Session) -> None:
    session.info.pop(_FLAG, None)
