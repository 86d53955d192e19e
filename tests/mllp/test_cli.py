"""`wnb client add --role source --hl7-facility` and `wnb mllp` as an operator runs them."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

from hl7.client import MLLPClient

from tests.factories import nhs_number
from tests.hl7_messages import ack_code, siu
from tests.live_server import free_port
from tests.test_cli import _env, wnb


def test_a_registered_facility_is_answered_by_wnb_mllp(tmp_path: Path) -> None:
    added = wnb(
        tmp_path, "client", "add", "--name", "PAS", "--role", "source", "--hl7-facility", "RXQ"
    )
    assert added.returncode == 0, added.stderr
    assert json.loads(added.stdout)["client_id"]
    refused = wnb(
        tmp_path, "client", "add", "--name", "GP", "--role", "nurse", "--hl7-facility", "RXZ"
    )
    assert refused.returncode == 1 and "--role source" in refused.stderr
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "app.cli", "mllp", "--port", str(port)],
        env=_env(tmp_path, None),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        answer = ""
        for _ in range(100):
            try:
                with MLLPClient("127.0.0.1", port) as client:
                    message = siu("RXQ", "S12", "CLI1", nhs_number(), "Q1")
                    answer = client.send_message(message).decode()
                break
            except ConnectionRefusedError:
                time.sleep(0.1)
        assert ack_code(answer.strip("\x0b\x1c\r")) == "AA", answer
    finally:
        proc.terminate()
        proc.wait(10)
