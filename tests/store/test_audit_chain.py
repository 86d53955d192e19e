"""The audit trail is tamper-evident and append-only for real: a hash chain that `wnb audit
verify` walks, TRUNCATE refused (PostgreSQL), INSERT OR REPLACE refused (SQLite), and a
service role that can only read and append. Each test gets a database of its own, because
tampering is what it does."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from app.auth.principal import Principal
from app.cli import main
from app.runtime import AppState, build_state
from app.services.access import audit
from app.store import audit_chain
from app.store.service_role import service_role_grants
from app.worker.jobs import seal_audit, sweep_audit
from tests.conftest import FIXED_NOW, Databases, settings_for
from tests.live_server import serve

WHO = Principal("client", "chain-test", "chain test", "admin")
SEALED = "(SELECT audit_pk FROM audit_seal WHERE seq = %d)"
FIRST = "(SELECT min(pk) FROM audit_event)"


@pytest.fixture
def fresh(databases: Databases, tmp_path: Path) -> Iterator[AppState]:
    """A migrated database of its own holding five chained audit rows."""
    url, drop = databases.new(tmp_path)
    state = build_state(settings_for(url))
    for n in range(5):
        note = audit.AuditNote("read", "Patient", [f"Patient/p{n}"])
        state.write(lambda s, note=note: audit.record(s, WHO, note, FIXED_NOW))
    assert seal_audit(state) == 5
    yield state
    state.engine.dispose()
    drop()


def verify(state: AppState, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
           ) -> tuple[int, str]:
    monkeypatch.setenv("WNB_DATABASE_URL", state.settings.database_url)
    monkeypatch.setenv("WNB_SECRET_KEY", "s" * 40)
    code = main(["audit", "verify"])
    return code, capsys.readouterr().out


def as_owner(state: AppState, *statements: str) -> None:
    """Change the trail the way only someone holding the tables could: triggers off first."""
    postgres = state.engine.dialect.name == "postgresql"
    with state.engine.begin() as conn:
        for table in ("audit_event", "audit_entity", "audit_seal"):
            if postgres:
                conn.execute(text(f"ALTER TABLE {table} DISABLE TRIGGER USER"))
            else:
                for name in (f"{table}_no_update", f"{table}_no_delete"):
                    conn.execute(text(f"DROP TRIGGER {name}"))
        for statement in statements:
            conn.execute(text(statement))
        if postgres:
            for table in ("audit_event", "audit_entity", "audit_seal"):
                conn.execute(text(f"ALTER TABLE {table} ENABLE TRIGGER USER"))


def test_an_untouched_trail_verifies(
    fresh: AppState, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out = verify(fresh, monkeypatch, capsys)
    assert code == 0 and "ok: 5 rows chained; head seq 5" in out, out


@pytest.mark.parametrize(
    ("statements", "reported"),
    [
        ([f"UPDATE audit_event SET agent_id = 'someone-else' WHERE pk = {SEALED % 2}"],
         "seq 2 (AuditEvent/"),
        (["CREATE TEMP TABLE gone AS SELECT audit_pk FROM audit_seal WHERE seq = 3",
          "DELETE FROM audit_seal WHERE seq = 3",
          "DELETE FROM audit_entity WHERE audit_pk IN (SELECT audit_pk FROM gone)",
          "DELETE FROM audit_event WHERE pk IN (SELECT audit_pk FROM gone)"],
         "seq 3 to 3 removed"),
        (["UPDATE audit_seal SET seq = 100 WHERE seq = 2",
          "UPDATE audit_seal SET seq = 2 WHERE seq = 3",
          "UPDATE audit_seal SET seq = 3 WHERE seq = 100"], "seq 2 (AuditEvent/"),
    ],
    ids=["altered", "removed", "reordered"],
)
def test_verify_reports_the_first_row_altered_removed_or_reordered(
    fresh: AppState,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    statements: list[str],
    reported: str,
) -> None:
    as_owner(fresh, *statements)
    code, out = verify(fresh, monkeypatch, capsys)
    assert code == 1 and "BROKEN" in out and reported in out, out


def test_truncate_and_replace_are_refused(fresh: AppState) -> None:
    if fresh.engine.dialect.name == "postgresql":
        statement = "TRUNCATE audit_event CASCADE"
    else:
        statement = (
            "INSERT OR REPLACE INTO audit_event (pk, id, recorded, type_code, subtype, action, "
            "outcome, agent_kind, agent_id) SELECT pk, id, recorded, type_code, subtype, "
            f"action, outcome, agent_kind, 'rewritten' FROM audit_event WHERE pk = {FIRST}"
        )
    with pytest.raises(DBAPIError, match="append-only"), fresh.engine.begin() as conn:
        conn.execute(text(statement))
    if fresh.engine.dialect.name == "sqlite":
        with pytest.raises(DBAPIError, match="append-only"), fresh.engine.begin() as conn:
            conn.execute(text(
                "INSERT OR REPLACE INTO audit_entity (audit_pk, reference) "
                "SELECT audit_pk, reference FROM audit_entity LIMIT 1"))


def test_the_service_role_can_read_and_append_but_not_erase(fresh: AppState) -> None:
    if fresh.engine.dialect.name != "postgresql":
        pytest.skip("SQLite has no roles: the file's owner is the service")
    role = f"wnb_service_{uuid.uuid4().hex[:8]}"
    with fresh.engine.begin() as conn:
        conn.execute(text(f"CREATE ROLE {role}"))
        for statement in service_role_grants(role):
            conn.execute(text(statement))
    try:
        with fresh.engine.connect() as conn:
            conn.execute(text(f"SET ROLE {role}"))
            assert conn.execute(text("SELECT count(*) FROM audit_event")).scalar() == 5
            conn.execute(text(
                "INSERT INTO audit_entity (audit_pk, reference) "
                f"SELECT pk, 'Patient/extra' FROM audit_event WHERE pk = {FIRST}"))
            conn.execute(text("SELECT count(*) FROM resource"))
            conn.rollback()
            for attack in (
                "TRUNCATE audit_event CASCADE",
                "ALTER TABLE audit_event DISABLE TRIGGER USER",
                "UPDATE audit_event SET agent_id = 'x'",
                "DELETE FROM audit_entity",
                "UPDATE audit_seal SET chain_hash = 'x'",
                "DELETE FROM audit_seal",
                "TRUNCATE audit_seal",
                "DROP TABLE audit_event CASCADE",
            ):
                conn.execute(text(f"SET ROLE {role}"))
                with pytest.raises(DBAPIError, match=r"permission denied|must be owner"):
                    conn.execute(text(attack))
                conn.rollback()
    finally:
        with fresh.engine.begin() as conn:
            conn.execute(text(f"DROP OWNED BY {role}"))
            conn.execute(text(f"DROP ROLE {role}"))


@pytest.mark.own_connections("concurrent requests to a real server")
def test_concurrent_requests_keep_one_unbroken_chain(
    state: AppState,
    role_tokens: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    headers = {"Authorization": f"Bearer {role_tokens['nurse']}"}
    with (
        serve(state) as base,
        httpx.Client(base_url=base, headers=headers, timeout=60) as http,
        ThreadPoolExecutor(16) as pool,
    ):
        statuses = set(pool.map(lambda _: http.get("/fhir/Patient").status_code, range(48)))
    assert statuses == {200}
    seal_audit(state)
    code, out = verify(state, monkeypatch, capsys)  # the suite's own trail, every test so far
    assert code == 0, out


def record(state: AppState, n: int) -> None:
    note = audit.AuditNote("read", "Patient", [f"Patient/late{n}"])
    state.write(lambda s: audit.record(s, WHO, note, FIXED_NOW))


def test_events_wait_for_their_seal_and_verify_counts_them(
    fresh: AppState, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    record(fresh, 1)
    record(fresh, 2)
    code, out = verify(fresh, monkeypatch, capsys)
    assert code == 0 and "ok: 5 rows chained" in out and "2 rows waiting for their seal" in out
    assert seal_audit(fresh) == 2
    assert seal_audit(fresh) == 0  # sealing twice seals nothing twice
    code, out = verify(fresh, monkeypatch, capsys)
    assert code == 0 and "ok: 7 rows chained; head seq 7" in out and "waiting" not in out, out


def test_an_event_committed_after_a_newer_one_is_sealed_after_it(
    fresh: AppState, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Writers no longer take turns, so a long transaction's event (a smaller pk) can commit
    after a newer one was sealed: it is sealed on a later pass, in the order of sealing."""
    if fresh.engine.dialect.name != "postgresql":
        pytest.skip("SQLite has one writer at a time: events commit in pk order")
    slow = fresh.writer()
    audit.record(slow, WHO, audit.AuditNote("read", "Patient", ["Patient/slow"]), FIXED_NOW)
    record(fresh, 3)  # a newer event commits first
    assert seal_audit(fresh) == 1
    slow.commit()
    slow.close()
    monkeypatch.setattr(audit_chain, "LOOK_BACK", 0)  # as if it had fallen far behind
    assert seal_audit(fresh) == 0
    assert sweep_audit(fresh) == 1  # the sweep over the whole trail finds it
    code, out = verify(fresh, monkeypatch, capsys)
    assert code == 0 and "ok: 7 rows chained" in out and "waiting" not in out, out
