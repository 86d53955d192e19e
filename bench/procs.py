"""Throw-away PostgreSQL databases, server processes on loopback, and CPU accounting."""

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
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg
from psycopg.sql import Composable

CLK_TCK = os.sysconf("SC_CLK_TCK")


class Postgres:
    """Creates and drops databases through an admin connection (autocommit)."""

    def __init__(self, admin_dsn: str) -> None:
        self.admin_dsn = admin_dsn
        self.created: list[str] = []

    def create(self, name: str) -> None:
        with psycopg.connect(self.admin_dsn, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            conn.execute(f'CREATE DATABASE "{name}"')
        self.created.append(name)

    def drop_all(self) -> None:
        with psycopg.connect(self.admin_dsn, autocommit=True) as conn:
            for name in self.created:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        self.created.clear()

    def dsn(self, name: str) -> str:
        info = psycopg.conninfo.conninfo_to_dict(self.admin_dsn)
        info["dbname"] = name
        return psycopg.conninfo.make_conninfo(**info)  # type: ignore[arg-type]

    def url(self, name: str) -> str:
        """The SQLAlchemy URL of database `name` (psycopg 3 driver)."""
        info = psycopg.conninfo.conninfo_to_dict(self.admin_dsn)
        user = info.get("user", "postgres")
        host, port = info.get("host", "127.0.0.1"), info.get("port", "5432")
        return f"postgresql+psycopg://{user}@{host}:{port}/{name}"

    def execute(self, name: str, sql: str | Composable) -> None:
        with psycopg.connect(self.dsn(name), autocommit=True) as conn:
            conn.execute(sql)  # type: ignore[arg-type]

    def scalar(self, name: str, sql: str) -> object:
        with psycopg.connect(self.dsn(name), autocommit=True) as conn:
            row = conn.execute(sql).fetchone()  # type: ignore[arg-type]
            return row[0] if row else None


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Server:
    """A server process group started by this benchmark (its own session, so it can be ended
    by its own id without touching anything else)."""

    name: str
    port: int
    proc: subprocess.Popen[bytes]
    log: Path

    def wait_ready(self, path: str, timeout: float = 120.0) -> None:
        deadline = time.monotonic() + timeout
        url = f"http://127.0.0.1:{self.port}{path}"
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited with {self.proc.returncode}; "
                                   f"see {self.log}:\n{self.tail()}")
            try:
                with urllib.request.urlopen(url, timeout=2) as answer:
                    if answer.status < 500:
                        return
            except urllib.error.HTTPError as exc:
                if exc.code < 500:
                    return
            except OSError:
                pass
            time.sleep(0.25)
        raise RuntimeError(f"{self.name} not ready after {timeout:.0f}s:\n{self.tail()}")

    def tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def pids(self) -> list[int]:
        """This server's process and its descendants."""
        return descendants(self.proc.pid)

    def worker_pids(self) -> list[int]:
        """The uvicorn worker processes (multiprocessing spawn children)."""
        out = []
        for pid in self.pids():
            try:
                cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
            except OSError:
                continue
            if b"spawn_main" in cmdline:
                out.append(pid)
        return out

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=10)


def start_server(name: str, argv: list[str], env: dict[str, str], port: int,
                 log_dir: Path) -> Server:
    log = log_dir / f"{name}.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(argv, env=env, stdout=out, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, start_new_session=True)
    return Server(name, port, proc, log)


def register_client(wnb: str, env: dict[str, str]) -> tuple[str, str] | None:
    """Register a `source` machine client with `wnb client add`; (client_id, secret), or None
    when this version of the service has no clients (no auth)."""
    done = subprocess.run([wnb, "client", "add", "--name", "bench", "--role", "source"],
                          env=env, capture_output=True, text=True, timeout=120)
    if done.returncode != 0:
        if "invalid choice: 'client'" in done.stderr:
            return None
        raise RuntimeError(f"wnb client add failed ({done.returncode}): {done.stderr.strip()}")
    out = json.loads(done.stdout)
    return out["client_id"], out["client_secret"]


class BearerToken:
    """An access token from the client credentials grant, fetched again shortly before it
    expires. `header()` is called before each request (a clock check, mostly)."""

    def __init__(self, token_url: str, client_id: str, secret: str, margin: float = 60.0) -> None:
        self.token_url, self.client_id, self.secret, self.margin = (
            token_url, client_id, secret, margin)
        self.value = b""
        self.expires = 0.0

    def fetch(self) -> None:
        basic = base64.b64encode(f"{self.client_id}:{self.secret}".encode()).decode()
        request = urllib.request.Request(
            self.token_url, data=b"grant_type=client_credentials", method="POST",
            headers={"Content-Type": "application/x-www-form-urlencoded",
                     "Authorization": f"Basic {basic}"})
        with urllib.request.urlopen(request, timeout=30) as answer:
            body = json.loads(answer.read())
        self.value = f"Authorization: Bearer {body['access_token']}\r\n".encode()
        self.expires = time.monotonic() + float(body.get("expires_in", 300))

    def header(self) -> bytes:
        if time.monotonic() > self.expires - self.margin:
            self.fetch()
        return self.value


def _stat(pid: int) -> tuple[str, int, int] | None:
    """(comm, ppid, utime+stime ticks) of a process, or None when it is gone."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    comm = raw[raw.index("(") + 1:raw.rindex(")")]
    fields = raw[raw.rindex(")") + 2:].split()
    return comm, int(fields[1]), int(fields[11]) + int(fields[12])


def _all_pids() -> list[int]:
    return [int(p) for p in os.listdir("/proc") if p.isdigit()]


def descendants(root: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for pid in _all_pids():
        st = _stat(pid)
        if st is not None:
            children.setdefault(st[1], []).append(pid)
    out, todo = [], [root]
    while todo:
        pid = todo.pop()
        out.append(pid)
        todo.extend(children.get(pid, []))
    return out


def _machine() -> tuple[int, int, int, int]:
    """(busy, total, interrupts, steal) jiffies of the whole machine. Busy counts the time the
    hypervisor gave this machine's cores to another (steal), which no process is charged
    with, and the time spent serving interrupts (the loopback network's packets), which a
    kernel without IRQ time accounting (Debian's) also charges to the process it interrupted."""
    parts = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = parts[3] + parts[4]
    total = sum(parts[:8])
    return total - idle, total, parts[5] + parts[6], parts[7]


def connection_split(port: int, pids: list[int]) -> list[int]:
    """Established connections to `port` held by each of `pids` (uvicorn workers share one
    listening socket; the kernel decides which worker accepts each connection)."""
    try:
        out = subprocess.run(["ss", "-tnpH", "state", "established", f"( sport = :{port} )"],
                             capture_output=True, text=True, timeout=10).stdout
    except (OSError, subprocess.SubprocessError):
        return []
    return [out.count(f"pid={pid},") for pid in pids]


def connection_owner(server_port: int, client_port: int, pids: list[int]) -> int | None:
    """Which of `pids` holds the server side of the loopback connection from `client_port`."""
    try:
        out = subprocess.run(
            ["ss", "-tnpH", "state", "established",
             f"( sport = :{server_port} and dport = :{client_port} )"],
            capture_output=True, text=True, timeout=10).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    return next((pid for pid in pids if f"pid={pid}," in out), None)


def background_load(seconds: float = 3.0) -> float:
    """Cores busy on the machine over a short idle window."""
    busy0, total0, *_ = _machine()
    time.sleep(seconds)
    busy, total, *_ = _machine()
    return (busy - busy0) / max(1, total - total0) * (os.cpu_count() or 1)


def _snapshot() -> dict[int, tuple[str, int]]:
    out = {}
    for pid in _all_pids():
        st = _stat(pid)
        if st is not None:
            out[pid] = (st[0], st[2])
    return out


def peak_rss_mib(pids: list[int]) -> list[float]:
    """Each process's peak resident memory so far (VmHWM), in MiB."""
    out = []
    for pid in pids:
        try:
            status = Path(f"/proc/{pid}/status").read_text()
        except OSError:
            continue
        for line in status.splitlines():
            if line.startswith("VmHWM:"):
                out.append(int(line.split()[1]) / 1024)
    return out


FOREIGN = "postgres (other databases)"


def other_backends(admin_dsn: str, ours: Iterable[str]) -> set[int]:
    """PostgreSQL's backends serving databases other than `ours` (and this query's own)."""
    with psycopg.connect(admin_dsn, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname IS NOT NULL "
            "AND NOT (datname = ANY(%s))", [list(ours)]).fetchall()
    return {pid for (pid,) in rows}


class CpuMeter:
    """CPU used during a run by the server under test, PostgreSQL, this process and the rest of
    the machine. Figures are in cores (1.0 = one core busy for the whole run). `others` names the
    busiest processes outside the benchmark; `steal` is the hypervisor serving another machine
    on these cores, `unseen` the rest of the busy time no live process accounts for (processes
    that started and ended inside the window, other kernel work); `interrupts` (the loopback
    network's packets) is shown apart, though the kernel mostly charges it to the processes.
    `foreign` names the PostgreSQL backends serving other databases (a prefill's copy, a test
    suite beside the run): theirs goes to `others`, not to PostgreSQL's figure."""

    def __init__(self, server_pids: list[int],
                 foreign: Callable[[], set[int]] | None = None) -> None:
        self.server_pids = set(server_pids)
        self.foreign_backends = foreign or set
        self.foreign: set[int] = set()

    def __enter__(self) -> CpuMeter:
        self.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.stop()

    def start(self) -> None:
        self.foreign = self.foreign_backends()
        self.t0 = time.perf_counter()
        self.before = _snapshot()
        self.busy0, self.total0, self.irq0, self.steal0 = _machine()

    def stop(self) -> None:
        wall = time.perf_counter() - self.t0
        busy, total, irq, steal = _machine()
        after = _snapshot()
        self.foreign |= self.foreign_backends()
        cores = os.cpu_count() or 1
        span = max(1, total - self.total0)
        self.machine = (busy - self.busy0) / span * cores
        self.interrupts = (irq - self.irq0) / span * cores
        self.steal = (steal - self.steal0) / span * cores
        own = {os.getpid()}
        server = postgres = everything = 0.0
        others: dict[str, float] = {}
        for pid, (comm, ticks) in after.items():
            used = (ticks - self.before.get(pid, (comm, 0))[1]) / CLK_TCK / wall
            everything += used
            if pid in self.server_pids:
                server += used
            elif comm.startswith("postgres") and pid in self.foreign:
                others[FOREIGN] = others.get(FOREIGN, 0.0) + used
            elif comm.startswith("postgres"):
                postgres += used
            elif pid not in own:
                others[comm] = others.get(comm, 0.0) + used
        self.server, self.postgres = server, postgres
        # What no process is charged with: steal, and the unseen rest. Interrupts are shown
        # beside them, not taken off: most of their time is in the processes' own already.
        self.unseen = max(0.0, self.machine - everything - self.steal)
        self.others = sorted(((c, v) for c, v in others.items() if v >= 0.01),
                             key=lambda cv: -cv[1])[:4]

    def describe_others(self) -> str:
        named = ", ".join(f"{c} {v:.2f}" for c, v in self.others) or "none"
        return (f"{named}; steal {self.steal:.2f}, unseen {self.unseen:.2f}; interrupts "
                f"{self.interrupts:.2f}, mostly within the processes' time")


class Profiler:
    """py-spy record (raw collapsed stacks) on some processes for the length of a `with`."""

    def __init__(self, py_spy: str, pids: list[int], out_prefix: Path, rate: int = 100,
                 gil: bool = True) -> None:
        self.py_spy, self.pids, self.out_prefix, self.rate = py_spy, pids, out_prefix, rate
        self.gil = gil
        self.procs: list[subprocess.Popen[bytes]] = []
        self.outputs: list[Path] = []

    def __enter__(self) -> Profiler:
        for pid in self.pids:
            out = self.out_prefix.with_name(f"{self.out_prefix.name}-{pid}.txt")
            self.outputs.append(out)
            self.procs.append(subprocess.Popen(
                [self.py_spy, "record", "--pid", str(pid), "--format", "raw", "--rate",
                 str(self.rate), "--nonblocking", "--output", str(out),
                 *(["--gil"] if self.gil else [])],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        time.sleep(1.0)  # py-spy attaches
        return self

    def __exit__(self, *_: object) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGINT)
        for proc in self.procs:
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


# First matching rule names the bucket of a sample (stack frames joined by ";").
BUCKETS = (
    ("R4B validation (fhir.resources/pydantic)", ("validate_structure", "model_validate")),
    ("SQLAlchemy + psycopg (statements, pool, commit)", ("sqlalchemy/", "psycopg/")),
    ("service code (app/), outside the two above", ("(app/",)),
    ("HTTP stack (uvicorn, starlette, fastapi, event loop)",
     ("uvicorn/", "starlette/", "fastapi/", "asyncio/", "anyio/")),
)


def stacks(files: list[Path]) -> Iterator[tuple[list[str], int]]:
    """(frames, samples) of each line of collapsed-stack files ("f1;f2;f3 count")."""
    for path in files:
        try:
            text = path.read_text(errors="replace")
        except OSError:
            continue
        for line in text.splitlines():
            stack, _, count_text = line.rpartition(" ")
            if stack and count_text.isdigit():
                yield stack.split(";"), int(count_text)


def summarise_profile(files: list[Path], top: int = 12) -> list[str]:
    """Where the samples of collapsed-stack files ("f1;f2;f3 count" lines) go: buckets, the
    busiest app/ functions (inclusive) and the busiest leaf functions (self)."""
    buckets: dict[str, int] = {}
    app: dict[str, int] = {}
    own: dict[str, int] = {}
    total = 0
    for frames, count in stacks(files):
        total += count
        joined = ";".join(frames)
        name = next((b for b, keys in BUCKETS if any(k in joined for k in keys)), "other")
        buckets[name] = buckets.get(name, 0) + count
        for frame in {f for f in frames if "(app/" in f}:
            app[frame] = app.get(frame, 0) + count
        own[frames[-1]] = own.get(frames[-1], 0) + count
    if not total:
        return ["(no samples)"]
    out = [f"{total} samples", "by bucket:"]
    out += [f"  {n / total:6.1%}  {b}" for b, n in sorted(buckets.items(), key=lambda kv: -kv[1])]
    out.append("app/ functions, inclusive:")
    out += [f"  {n / total:6.1%}  {f[:140]}"
            for f, n in sorted(app.items(), key=lambda kv: -kv[1])[:top]]
    out.append("leaf functions, self:")
    out += [f"  {n / total:6.1%}  {f[:140]}"
            for f, n in sorted(own.items(), key=lambda kv: -kv[1])[:top]]
    return out
