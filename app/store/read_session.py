"""A read's session, which ends with COMMIT and not ROLLBACK.

psycopg deallocates every statement it prepared on a connection whose transaction rolls back
(a rollback may have undone the objects they name), and the pool hands the connection
returned last to the next unit of work (`db.py`): a read ending with ROLLBACK, such as a
health check, a metrics scrape or a token's client looked up, would cost the next write its
prepared lookups, planned again on their next runs. A read changed nothing, so COMMIT ends it
alike; one that left a change pending is a defect, refused before anything is committed.
A read that raises ends as a failed write does (`unchanged.commit_if_unchanged`)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from sqlalchemy.orm import Session

from app.store.unchanged import commit_if_unchanged


class ReadWroteError(RuntimeError):
    """A read left objects to insert, change or delete: it was meant to change nothing."""


@contextmanager
def reading(factory: Callable[[], Session]) -> Iterator[Session]:
    with factory() as session:
        try:
            yield session
        except Exception:
            # A read that fails (a 404, a refused sign-in) changed nothing either: ended as a
            # failed write is (`unchanged`), it keeps the connection's prepared statements.
            commit_if_unchanged(session)
            raise
        if session.new or session.dirty or session.deleted:
            raise ReadWroteError("a read left changes pending; nothing was committed")
        session.commit()
