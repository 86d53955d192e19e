"""A real PgBouncer (Debian's package) in transaction pooling mode, in front of the test
PostgreSQL on a free loopback port."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy.engine import make_url

from tests.live_server import free_port

DEBIAN_BINARY = "/usr/sbin/pgbouncer"


def binary() -> str:
    """PgBouncer's program; missing is a failure, not a skip (.ci/run installs it)."""
    found = shutil.which("pgbouncer") or (DEBIAN_BINARY if os.path.exists(DEBIAN_BINARY) else None)
    assert found, "pgbouncer is not installed (apt-get install -y pgbouncer)"
    return found


@contextmanager
def pgbouncer(database_url: str) -> Iterator[str]:
    """The same database's URL, through PgBouncer in transaction mode."""
    url = make_url(database_url)
    port = free_port()
    folder = Path(tempfile.mkdtemp(prefix="wnb-pgbouncer-"))
    folder.chmod(0o755)  # PgBouncer refuses to run as root: it reads these as `postgres`
    (folder / "users.txt").write_text(f'"{url.username}" ""\n')
    config = folder / "pgbouncer.ini"
    config.write_text(
        "[databases]\n"
        f"* = host={url.host} port={url.port or 5432}\n"
        "[pgbouncer]\n"
        f"listen_addr = 127.0.0.1\nlisten_port = {port}\n"
        f"unix_socket_dir =\nauth_type = trust\nauth_file = {folder / 'users.txt'}\n"
        "pool_mode = transaction\ndefault_pool_size = 3\nmax_client_conn = 200\n"
        "ignore_startup_parameters = extra_float_digits,options\n"
        + ("user = postgres\n" if os.geteuid() == 0 else "")
    )
    for path in folder.iterdir():
        path.chmod(0o644)
    process = subprocess.Popen(
        [binary(), "-q", str(config)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    try:
        _wait_listening(port, process)
        yield url.set(port=port, host="127.0.0.1").render_as_string(hide_password=False)
    finally:
        process.terminate()
        process.wait(timeout=20)
        shutil.rmtree(folder, ignore_errors=True)


def _wait_listening(port: int, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 30
    while True:
        if process.poll() is not None:
            err = process.stderr.read().decode() if process.stderr else ""
            raise AssertionError(f"pgbouncer exited: {err[-2000:]}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            assert time.monotonic() < deadline, "pgbouncer did not start listening"
            time.sleep(0.05)
