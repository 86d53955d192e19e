"""A failed unit of work that changed nothing ends with COMMIT, not ROLLBACK.

psycopg deallocates every statement it prepared on a connection whose transaction rolls back
(see `read_session`), and a refused write usually fails before it writes anything: a
reference to a Patient the service does not hold is found by a lookup. Ended with ROLLBACK,
each such refusal cost its connection every prepared lookup, planned again on the next
eleven runs of each (`bench/RESULTS.md`, ninth sitting: with one POST in fifty refused, three
quarters of the lookups were planned again, and PostgreSQL's CPU per POST rose by a quarter).

Whether the transaction changed anything is PostgreSQL's to say: it is given a transaction
id on its first write or row lock, and `txid_current_if_assigned()` is NULL until then. A
transaction without one changed no row, so COMMIT ends it as ROLLBACK would. The session's
own pending objects are checked too (a commit would flush them). Anything else (SQLite, a
pooler where nothing is prepared, a transaction the database has aborted) rolls back as
before.

What COMMIT keeps that ROLLBACK would not is not a row: a NOTIFY sent before the failure, or a
session-level `SET`. The service sends NOTIFY only after writing (the outbox's wake-up,
`wake.on_commit`), which assigns a transaction id, and sets session settings only when it
connects (`db.py`); a stray wake-up would only make the deliverer look once."""

from __future__ import annotations

from sqlalchemy.orm import Session

from app.store.prebuilt import prepares


def commit_if_unchanged(session: Session) -> bool:
    """COMMIT `session`'s failed transaction if it changed nothing; whether it did. Never
    raises: the caller re-raises the failure, and the session's close rolls back whatever
    this did not end."""
    if not session.in_transaction() or session.new or session.dirty or session.deleted:
        return False
    try:
        connection = session.connection()
        if connection.dialect.name != "postgresql" or not prepares(connection):
            return False
        assigned = connection.exec_driver_sql("SELECT txid_current_if_assigned()").scalar()
        if assigned is not None:
            return False
        session.commit()
    except Exception:  # the caller re-raises the failure that matters
        # A transaction the database aborted, a session a failed flush left to be rolled
        # back, a lost connection: only a rollback ends these.
        return False
    return True
