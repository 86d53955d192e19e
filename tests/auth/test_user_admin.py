"""People's accounts from the command line, and sessions that end: disabling or resetting a
password ends every session at once; a session unused for the idle time ends. Both databases."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient

from app.cli import main
from app.runtime import AppState
from tests.conftest import FIXED_NOW
from tests.factories import sign_in


def wnb(
    state: AppState, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], *argv: str
) -> str:
    monkeypatch.setenv("WNB_DATABASE_URL", state.settings.database_url)
    monkeypatch.setenv("WNB_SECRET_KEY", state.settings.secret_key or "")
    assert main(list(argv)) == 0
    return capsys.readouterr().out


@pytest.mark.own_connections("the command line opens its own engine")
def test_disabling_ends_every_session_and_enabling_allows_sign_in(
    anonymous: TestClient,
    state: AppState,
    nurse: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert sign_in(anonymous, nurse).status_code == 303
    assert anonymous.get("/fhir/Patient").status_code == 200
    out = wnb(state, monkeypatch, capsys, "user", "disable", nurse)
    assert "ended 1 session" in out
    assert anonymous.get("/fhir/Patient").status_code == 401
    assert sign_in(anonymous, nurse).status_code == 401
    listed = json.loads(wnb(state, monkeypatch, capsys, "user", "list"))
    assert {"username": nurse, "disabled": True}.items() <= next(
        a for a in listed if a["username"] == nurse
    ).items()
    wnb(state, monkeypatch, capsys, "user", "enable", nurse)
    assert sign_in(anonymous, nurse).status_code == 303


@pytest.mark.own_connections("the command line opens its own engine")
def test_a_password_reset_ends_sessions_and_the_old_password(
    anonymous: TestClient,
    state: AppState,
    nurse: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert sign_in(anonymous, nurse).status_code == 303
    new = "a brand new passphrase"
    wnb(state, monkeypatch, capsys, "user", "reset-password", nurse, "--password", new)
    assert anonymous.get("/fhir/Patient").status_code == 401
    assert sign_in(anonymous, nurse).status_code == 401
    assert sign_in(anonymous, nurse, new).status_code == 303


def test_a_session_unused_for_the_idle_time_ends(
    anonymous: TestClient, state: AppState, nurse: str
) -> None:
    assert sign_in(anonymous, nurse).status_code == 303
    idle = state.settings.session_idle_minutes
    for minutes in (idle - 5, 2 * idle - 10):  # each use moves the end on
        state.clock = lambda m=minutes: FIXED_NOW + timedelta(minutes=m)
        assert anonymous.get("/fhir/Patient").status_code == 200, minutes
    state.clock = lambda: FIXED_NOW + timedelta(minutes=3 * idle)  # idle past the limit
    assert anonymous.get("/fhir/Patient").status_code == 401
