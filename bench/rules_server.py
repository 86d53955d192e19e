"""bench/rules: throw-away PostgreSQL databases and `wnb serve` processes on loopback.

Every process is started in its own session and ended by its own id (its process group), so
nothing this benchmark did not start is ever signalled."""

from __future__ import annotations

import base64
import json
import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parent.parent
WNB = str(ROOT / ".venv" / "bin" / "wnb")
ADMIN_DSN = os.environ.get("BENCH_POSTGRES_DSN", "host=127.0.0.1 port=5432 user=postgres")


def create_database(name: str) -> str:
    """A fresh, empty database; its SQLAlchemy URL."""
    with psycopg.connect(ADMIN_DSN + " dbname=postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    return database_url(name)


def drop_database(name: str) -> None:
    with psycopg.connect(ADMIN_DSN + " dbname=postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def database_exists(name: str) -> bool:
    with psycopg.connect(ADMIN_DSN + " dbname=postgres", autocommit=True) as conn:
        row = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
    return row is not None


def database_url(name: str) -> str:
    return f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"


def dsn(name: str) -> str:
    return f"{ADMIN_DSN} dbname={name}"


def service_env(db_url: str, rules_enabled: bool = True) -> dict[str, str]:
    """The environment of every `wnb` command the benchmark runs."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("WNB_")}
    env.update(
        WNB_DATABASE_URL=db_url,
        WNB_RULES_ENABLED="true" if rules_enabled else "false",
        WNB_RUN_WORKER="false",
        WNB_RATE_LIMIT_PER_SECOND="1000000",
        WNB_RATE_LIMIT_BURST="1000000",
        WNB_LOG_LEVEL="WARNING",
        WNB_TOKEN_TTL_SECONDS="3600",
    )
    return env


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Server:
    name: str
    port: int
    env: dict[str, str]
    proc: subprocess.Popen[bytes]
    log: Path
    token: str = ""

    def wait_ready(self, timeout: float = 120.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited ({self.proc.returncode}); see {self.log}")
            try:
                with urllib.request.urlopen(f"{self.base}/health", timeout=2) as answer:
                    if answer.status == 200:
                        return
            except (OSError, urllib.error.HTTPError):
                pass
            time.sleep(0.25)
        raise RuntimeError(f"{self.name} not ready after {timeout:.0f} s; see {self.log}")

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def sign_in(self) -> None:
        """Register an admin client with `wnb client add` and take a token for it."""
        done = subprocess.run(
            [WNB, "client", "add", "--name", "bench", "--role", "admin"],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=120,
            check=True,
        )
        client = json.loads(done.stdout)
        basic = base64.b64encode(f"{client['client_id']}:{client['client_secret']}".encode())
        request = urllib.request.Request(
            f"{self.base}/auth/token",
            data=b"grant_type=client_credentials",
            headers={
                "Content-Type": "application/x-www-form-urlencoded",
                "Authorization": f"Basic {basic.decode()}",
            },
        )
        with urllib.request.urlopen(request, timeout=30) as answer:
            self.token = json.loads(answer.read())["access_token"]

    def pids(self) -> list[int]:
        """The server's process group (uvicorn's supervisor and its workers)."""
        out = []
        for entry in os.listdir("/proc"):
            if entry.isdigit():
                try:
                    stat = Path(f"/proc/{entry}/stat").read_text()
                except OSError:
                    continue
                if int(stat[stat.rindex(")") + 2 :].split()[2]) == self.proc.pid:
                    out.append(int(entry))
        return out

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=10)


def start_server(name: str, env: dict[str, str], log_dir: Path, workers: int = 2) -> Server:
    port = free_port()
    log = log_dir / f"{name}.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [WNB, "serve", "--port", str(port), "--workers", str(workers)],
            env=env,
            cwd=ROOT,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    server = Server(name, port, env, proc, log)
    server.wait_ready()
    server.sign_in()
    return server


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU time of these processes so far."""
    ticks = 0
    for pid in pids:
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2 :].split()
        ticks += int(fields[11]) + int(fields[12])
    return ticks / os.sysconf("SC_CLK_TCK")
