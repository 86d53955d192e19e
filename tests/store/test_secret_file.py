"""No published signing secret: unset in development, a random one is made beside the
database (owner-only), kept across restarts, and the old published string forges nothing."""

from __future__ import annotations

import stat
from pathlib import Path

import jwt
import pytest
from fastapi.testclient import TestClient

from app.main import create_app
from app.runtime import build_state
from app.settings import PROJECT_ROOT
from app.store.secret_file import secret_path
from tests.conftest import FIXED_NOW, settings_for

PUBLISHED = "development-only-secret-do-not-use-in-production"  # what the code used to hold


def test_a_random_secret_is_made_beside_the_database_and_kept(
    database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # where a PostgreSQL install keeps it
    settings = settings_for(database_url, secret_key=None)
    path = secret_path(settings)
    path.unlink(missing_ok=True)
    first = build_state(settings)
    second = build_state(settings)
    try:
        assert path.exists() and stat.S_IMODE(path.stat().st_mode) == 0o600
        if database_url.startswith("sqlite"):
            assert path.parent == Path(database_url.removeprefix("sqlite:///")).parent
        secret = first.settings.secret_key or ""
        assert len(secret) >= 32 and secret != PUBLISHED
        assert second.settings.secret_key == secret  # tokens survive a restart
    finally:
        first.engine.dispose()
        second.engine.dispose()
        path.unlink(missing_ok=True)


def test_a_token_signed_with_the_published_string_reads_nothing_and_start_up_warns(
    database_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    monkeypatch.chdir(tmp_path)
    settings = settings_for(database_url, secret_key=None)
    state = build_state(settings)
    state.clock = lambda: FIXED_NOW
    now = int(FIXED_NOW.timestamp())
    claims = {"iss": "wnb", "sub": "forger", "scope": "system/*.cruds", "jti": "x",
              "iat": now, "exp": now + 60}
    forged = jwt.encode(claims, PUBLISHED, algorithm="HS256")
    try:
        with TestClient(create_app(state=state)) as http:
            r = http.get("/fhir/AuditEvent", headers={"Authorization": f"Bearer {forged}"})
        assert r.status_code == 401
        assert any("WNB_SECRET_KEY is not set" in m for m in caplog.messages)
    finally:
        state.engine.dispose()
        secret_path(settings).unlink(missing_ok=True)


def test_a_set_secret_is_used_and_no_file_is_made(database_url: str, tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    settings = settings_for(database_url, secret_key="s" * 40)
    state = build_state(settings)
    state.engine.dispose()
    assert state.settings.secret_key == "s" * 40
    assert not (tmp_path / "wnb-dev.secret").exists()


def test_compose_passes_the_secret() -> None:
    compose = (PROJECT_ROOT / "docker" / "compose.yaml").read_text()
    assert "WNB_SECRET_KEY: ${WNB_SECRET_KEY:?" in compose
