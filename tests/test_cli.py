"""The `wnb` command as an operator runs it: real processes, a real SQLite file."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests.live_server import free_port


def wnb(
    tmp_path: Path, *args: str, env: dict[str, str] | None = None, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "app.cli", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=_env(tmp_path, env),
    )


def _env(tmp_path: Path, extra: dict[str, str] | None) -> dict[str, str]:
    return {
        **os.environ,
        "WNB_DATABASE_URL": f"sqlite:///{tmp_path / 'wnb.db'}",
        "WNB_LOG_LEVEL": "WARNING",
        **(extra or {}),
    }


def test_serve_migrates_and_serves_with_the_worker(tmp_path: Path) -> None:
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "app.cli", "serve", "--port", str(port)],
        env=_env(tmp_path, {"WNB_LOG_LEVEL": "INFO"}),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/health").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "wnb serve did not come up"
            assert proc.poll() is None, proc.stdout.read() if proc.stdout else ""
            time.sleep(0.2)
        meta = httpx.get(f"http://127.0.0.1:{port}/fhir/metadata").json()
        assert meta["fhirVersion"] == "4.0.1"
    finally:
        proc.terminate()
        output = proc.communicate(timeout=30)[0]
    assert "worker started in-process with 8 job(s)" in output


def test_seed_demo_then_clients(tmp_path: Path) -> None:
    seeded = wnb(tmp_path, "seed-demo")
    assert seeded.returncode == 0, seeded.stderr
    assert "demo nurse: sign in at" in seeded.stdout
    added = wnb(tmp_path, "client", "add", "--name", "GP", "--role", "source")
    client = json.loads(added.stdout)
    assert set(client) == {"client_id", "client_secret", "scopes"}
    listed = json.loads(wnb(tmp_path, "client", "list").stdout)
    assert [c["client_id"] for c in listed] == [client["client_id"]]
    assert "client_secret" not in listed[0]
    assert wnb(tmp_path, "client", "revoke", client["client_id"]).returncode == 0
    assert json.loads(wnb(tmp_path, "client", "list").stdout)[0]["revoked"] is True


def test_errors_are_one_line_and_non_zero(tmp_path: Path) -> None:
    bad = wnb(tmp_path, "client", "add", "--name", "x", "--scopes", "everything")
    assert bad.returncode == 1
    assert bad.stderr.strip().count("\n") == 0
    assert bad.stderr.startswith("wnb client: error: 'everything' is not a SMART v2 scope")
    weak = wnb(tmp_path, "migrate", env={"WNB_ENVIRONMENT": "production"})
    assert weak.returncode == 1 and "WNB_SECRET_KEY" in weak.stderr
    assert weak.stderr.strip().count("\n") == 0
