"""`wnb import` as an operator runs it: the summary, the refusals file and the exit code."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import orjson

from tests.factories import appointment, nhs_number, patient
from tests.test_cli import wnb


def test_wnb_import_prints_a_summary_and_writes_the_refused_lines(tmp_path: Path) -> None:
    added = wnb(tmp_path, "client", "add", "--name", "CHIS", "--role", "source")
    assert added.returncode == 0, added.stderr
    client_id = json.loads(added.stdout)["client_id"]
    pid = f"cli-{uuid.uuid4().hex[:8]}"
    lines = [
        orjson.dumps({**patient(nhs_number()), "id": pid}),
        orjson.dumps(appointment(f"Patient/{pid}", ident=f"{pid}-1")),
        orjson.dumps({**appointment(f"Patient/{pid}"), "status": "bogus"}),
    ]
    path = tmp_path / "extract.ndjson"
    path.write_bytes(b"\n".join(lines) + b"\n")
    refusals = tmp_path / "refused.ndjson"
    args = ("import", str(path), "--client", client_id, "--refusals", str(refusals))
    first = wnb(tmp_path, *args)
    assert first.returncode == 2, first.stderr  # some lines refused
    assert "stored 2, unchanged 0, refused 1" in first.stdout
    assert "line 3: 400 at Appointment.status" in first.stdout
    [row] = [json.loads(x) for x in refusals.read_text().splitlines()]
    assert row["line"] == 3 and row["expression"] == ["Appointment.status"]
    again = wnb(tmp_path, *args)
    assert "stored 0, unchanged 2, refused 1" in again.stdout
    unknown = wnb(tmp_path, "import", str(path), "--client", "nobody")
    assert unknown.returncode == 1 and "No live client" in unknown.stderr
