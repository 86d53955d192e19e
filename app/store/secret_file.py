"""The development signing secret: random, made on first start, kept beside the database in
a file only its owner can read. A secret published in the code would let anyone forge a
token (an admin's, say) against any development or pilot install that forgot to set one."""

from __future__ import annotations

import contextlib
import logging
import os
import secrets
import stat
from pathlib import Path

from sqlalchemy.engine import make_url

from app.settings import Settings

log = logging.getLogger("wnb.settings")
SECRET_BYTES = 48


def secret_path(settings: Settings) -> Path:
    """`<database file>.secret` for SQLite; `wnb-dev.secret` in the working folder otherwise
    (a server database has no folder of ours beside it)."""
    if settings.is_sqlite:
        database = make_url(settings.database_url).database
        if database and database != ":memory:":
            db = Path(database)
            return db.with_name(db.name + ".secret")
    return Path.cwd() / "wnb-dev.secret"


def load_or_create_secret(path: Path) -> str:
    """The secret kept at `path`, made first if there is none. Safe when several processes
    start at once: the file appears whole or not at all (written aside, then linked)."""
    if not path.exists():
        tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(fd, "w") as f:
                f.write(secrets.token_urlsafe(SECRET_BYTES))
            with contextlib.suppress(FileExistsError):  # another process was first: use theirs
                os.link(tmp, path)
        finally:
            tmp.unlink(missing_ok=True)
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        log.warning("the development secret file was readable by others; made it owner-only")
        path.chmod(0o600)
    secret = path.read_text().strip()
    if len(secret) < 32:
        raise ValueError(f"{path} holds no usable secret; delete it to make a new one")
    return secret
