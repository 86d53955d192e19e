"""Which database errors mean the database is away (503, try again) and which are a statement
the database refused (a bug: 500). Only the first kind is transient; answering the second
with 503 told clients to retry what can never succeed and told operators the database was
down when it was not."""

from __future__ import annotations

import sqlite3

from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeout

# SQLite primary result codes of a database that cannot be reached or written now: busy or
# locked past the timeout, out of memory, a disk error, the file gone or full.
SQLITE_AWAY = frozenset(
    {
        sqlite3.SQLITE_BUSY,
        sqlite3.SQLITE_LOCKED,
        sqlite3.SQLITE_NOMEM,
        sqlite3.SQLITE_IOERR,
        sqlite3.SQLITE_FULL,
        sqlite3.SQLITE_CANTOPEN,
        sqlite3.SQLITE_PROTOCOL,
        sqlite3.SQLITE_READONLY,
    }
)
# PostgreSQL SQLSTATEs: the server shutting down or not yet accepting connections, too many
# connections or out of resources, and the transient conflicts (serialization, deadlock,
# lock timeout) a retry resolves. Class 08 (connection exception) is matched by prefix.
POSTGRES_AWAY = frozenset(
    {"57P01", "57P02", "57P03", "53000", "53100", "53200", "53300", "40001", "40P01", "55P03"}
)


def database_away(exc: Exception) -> bool:
    """True when `exc` says the database could not be reached or lost the connection."""
    if isinstance(exc, PoolTimeout):
        return True
    if not isinstance(exc, DBAPIError):
        return False
    if exc.connection_invalidated:
        return True
    orig = exc.orig
    if isinstance(orig, sqlite3.Error):
        code = getattr(orig, "sqlite_errorcode", None)
        return code is not None and (code & 0xFF) in SQLITE_AWAY
    state = getattr(orig, "sqlstate", None)
    if state is not None:
        return state.startswith("08") or state in POSTGRES_AWAY
    # A driver error with no SQLSTATE was raised by the client library: a connection attempt
    # that failed carries the attempted connection; a refused statement (too many bound
    # values) does not.
    return getattr(orig, "pgconn", None) is not None
