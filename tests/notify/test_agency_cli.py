"""`wnb client add --role agency --agency-type T --area CODE[,CODE]`, as an operator runs it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from app.cli import main
from tests.test_cli import wnb


def test_an_agency_is_registered_with_its_type_and_areas(tmp_path: Path) -> None:
    added = wnb(
        tmp_path,
        "client", "add", "--name", "Riverside Surgery", "--role", "agency",
        "--agency-type", "gp", "--area", "A81001, A81002",
    )  # fmt: skip
    assert added.returncode == 0, added.stderr
    client = json.loads(added.stdout)
    assert "system/Subscription.crus" in client["scopes"].split()
    engine = create_engine(f"sqlite:///{tmp_path / 'wnb.db'}")
    with engine.connect() as conn:
        row = conn.execute(
            text("SELECT agency_type, areas, full_resource FROM agency_binding")
        ).one()
    engine.dispose()
    assert tuple(row) == ("gp", "A81001 A81002", 0)


def test_agency_options_are_checked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # In this process (the command itself is run as an operator runs it above): five refusals
    # would otherwise cost five interpreters' start.
    monkeypatch.setenv("WNB_DATABASE_URL", f"sqlite:///{tmp_path / 'wnb.db'}")
    cases = [
        (["--role", "agency", "--area", "A81001"], "needs --agency-type"),
        (["--role", "agency", "--agency-type", "gp"], "needs --area"),
        (["--role", "agency", "--agency-type", "GP!", "--area", "A1"], "lower-case word"),
        (["--role", "agency", "--agency-type", "gp", "--area", "A 1"], "not an organisation code"),
        (["--role", "source", "--agency-type", "gp"], "go with --role agency"),
    ]
    for args, message in cases:
        code = main(["client", "add", "--name", "x", *args])
        assert code == 1 and message in capsys.readouterr().err, args
    listed = json.loads(wnb(tmp_path, "client", "list").stdout)
    assert listed == []  # nothing half-registered
