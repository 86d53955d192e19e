"""The audit chain keyed with WNB_AUDIT_KEY (issue 20, item 5): someone who can write the
database but does not hold the key cannot delete a row and re-hash forward unnoticed; rows
sealed before the key existed still verify; anchors kept outside the database catch what a
chain cannot show by itself (its newest rows removed, or the whole chain rebuilt plain)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from functools import partial
from pathlib import Path

import pytest
from pydantic import ValidationError
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from app.runtime import AppState, build_state
from app.services.access import audit
from app.settings import Settings
from app.store import audit_chain
from app.store.audit_key import load_audit_keys
from app.store.models import AuditEntity, AuditRecord
from app.worker.jobs import seal_audit
from tests.conftest import FIXED_NOW, settings_for
from tests.store.test_audit_chain import WHO, as_owner, fresh  # noqa: F401  (the fixture)

KEY = "k" * 16 + "an-audit-key-for-tests-only"
NEW_KEY = "n" * 16 + "a-second-audit-key-for-tests"


def keyed(plain: AppState, **overrides: object) -> AppState:
    """The same database as `plain`, in a process that holds a key."""
    values = {"audit_key": KEY, **overrides}
    return build_state(settings_for(plain.settings.database_url, **values))


def add_rows(state: AppState, count: int, tag: str) -> None:
    for n in range(count):
        note = audit.AuditNote("read", "Patient", [f"Patient/{tag}{n}"])
        state.write(lambda s, note=note: audit.record(s, WHO, note, FIXED_NOW))


def run_verify(
    state: AppState,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    *args: str,
    key: str | None = KEY,
    key_file: Path | None = None,
) -> tuple[int, str]:
    from app.cli import main

    monkeypatch.setenv("WNB_DATABASE_URL", state.settings.database_url)
    monkeypatch.setenv("WNB_SECRET_KEY", "s" * 40)
    if key is None:
        monkeypatch.delenv("WNB_AUDIT_KEY", raising=False)
    else:
        monkeypatch.setenv("WNB_AUDIT_KEY", key)
    if key_file is not None:
        monkeypatch.setenv("WNB_AUDIT_KEY_FILE", str(key_file))
    code = main(["audit", *args])
    return code, capsys.readouterr().out


def rehash_without_key(state: AppState, deleted_seq: int, key_ids: str) -> None:
    """What someone holding the database but not the key can do: delete the event sealed at
    `deleted_seq`, then rebuild every seal from there on with plain SHA-256, numbered without
    the gap. `key_ids`: "keep" the stored key ids, "drop" them from the deleted row on, or
    "all" of them (the whole chain made plain)."""
    with state.engine.connect() as conn:
        rows = conn.execute(text(
            "SELECT s.seq, s.audit_pk, s.chain_hash, s.key_id FROM audit_seal s ORDER BY s.seq"
        )).all()
    gone = next(pk for seq, pk, _, _ in rows if seq == deleted_seq)
    first = 1 if key_ids == "all" else deleted_seq
    as_owner(
        state,
        f"DELETE FROM audit_seal WHERE seq >= {first}",
        f"DELETE FROM audit_entity WHERE audit_pk = {gone}",
        f"DELETE FROM audit_event WHERE pk = {gone}",
    )
    previous = audit_chain.GENESIS if first == 1 else rows[first - 2][2]
    kept = [(pk, kid) for seq, pk, _, kid in rows if seq >= first and pk != gone]
    with Session(state.engine) as session:
        for seq, (pk, kid) in enumerate(kept, start=first):
            event = session.get_one(AuditRecord, pk)
            record = {k: getattr(event, k) for k in audit_chain.CONTENT}
            refs = list(session.scalars(
                select(AuditEntity.reference).where(AuditEntity.audit_pk == pk)
            ))
            previous = audit_chain.link(previous, seq, record, refs)
            session.execute(
                text("INSERT INTO audit_seal (seq, audit_pk, chain_hash, key_id) "
                     "VALUES (:seq, :pk, :hash, :kid)"),
                {"seq": seq, "pk": pk, "hash": previous,
                 "kid": kid if key_ids == "keep" else None},
            )
        session.commit()


@pytest.fixture
def chain(fresh: AppState) -> Iterator[AppState]:  # noqa: F811
    """Five rows sealed before the key existed, then three sealed with it (seq 6 to 8)."""
    state = keyed(fresh)
    add_rows(state, 3, "keyed")
    assert seal_audit(state) == 3
    yield state
    state.engine.dispose()


Cli = Callable[..., tuple[int, str]]


@pytest.fixture
def cli(
    chain: AppState, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> Cli:
    """`wnb audit ...` against the chain's database, with KEY unless told otherwise."""
    return partial(run_verify, chain, monkeypatch, capsys)


def test_rows_sealed_before_the_key_still_verify(
    chain: AppState, cli: Cli
) -> None:
    code, out = cli("verify")
    assert code == 0 and "ok: 8 rows chained; head seq 8" in out, out
    assert "keyed from seq 6" in out, out


@pytest.mark.parametrize("key_ids", ["keep", "drop"])
def test_deleting_a_row_and_rehashing_forward_without_the_key_is_detected(
    chain: AppState, cli: Cli, key_ids: str
) -> None:
    rehash_without_key(chain, 7, key_ids)
    # The rebuilt chain is consistent as plain SHA-256: the unkeyed chain would have passed.
    with chain.engine.connect() as conn:
        assert conn.execute(text("SELECT max(seq) FROM audit_seal")).scalar() == 7
    code, out = cli("verify")
    assert code == 1 and "BROKEN after 6 good rows" in out, out
    expected = "altered, or moved" if key_ids == "keep" else "re-hashed without the key"
    assert expected in out and "seq 7 (AuditEvent/" in out, out


def test_an_anchor_catches_a_chain_rebuilt_plain_or_cut_short(
    chain: AppState, cli: Cli, tmp_path: Path
) -> None:
    anchors = tmp_path / "anchors.txt"
    code, out = cli("anchor", str(anchors))
    assert code == 0 and anchors.read_text().startswith("8 "), out
    code, out = cli("verify", "--anchors", str(anchors))
    assert code == 0 and "1 anchors match" in out, out
    # Every keyed seal made plain again: the key alone cannot tell this from a chain that
    # was never keyed (verify says "no row keyed"), the anchor can.
    rehash_without_key(chain, 7, "all")
    code, out = cli("verify")
    assert code == 0 and "no row keyed" in out, out
    code, out = cli("verify", "--anchors", str(anchors))
    assert code == 1 and "an anchor holds seq 8: its newest rows were removed" in out, out


def test_an_anchor_catches_a_rebuilt_row(
    chain: AppState, cli: Cli, tmp_path: Path
) -> None:
    anchors = tmp_path / "anchors.txt"
    cli("anchor", str(anchors))
    add_rows(chain, 1, "after")
    assert seal_audit(chain) == 1  # seq 9: the anchored seq 8 is now inside the chain
    rehash_without_key(chain, 3, "all")
    code, out = cli("verify", "--anchors", str(anchors))
    assert code == 1 and "differs from its anchor" in out and "seq 8 (AuditEvent/" in out, out


def test_a_keyed_row_needs_its_key(
    chain: AppState, cli: Cli
) -> None:
    code, out = cli("verify", key=None)
    assert code == 1 and "seq 6 (AuditEvent/" in out and "does not hold" in out, out
    code, out = cli("verify", key=NEW_KEY)
    assert code == 1 and "does not hold" in out, out


def test_a_retired_key_listed_in_the_key_file_still_verifies_its_rows(
    chain: AppState, cli: Cli, tmp_path: Path
) -> None:
    key_file = tmp_path / "audit.keys"
    key_file.write_text(f"{NEW_KEY}\n{KEY}\n")
    rotated = keyed(chain, audit_key=None, audit_key_file=key_file)
    try:
        add_rows(rotated, 2, "rotated")
        assert seal_audit(rotated) == 2
    finally:
        rotated.engine.dispose()
    code, out = cli("verify", key=None, key_file=key_file)
    assert code == 0 and "ok: 10 rows chained" in out and "keyed from seq 6" in out, out
    key_file.write_text(f"{NEW_KEY}\n")  # the retired key dropped: its rows cannot be checked
    code, out = cli("verify", key=None, key_file=key_file)
    assert code == 1 and "seq 6 (AuditEvent/" in out and "does not hold" in out, out


def test_a_process_without_the_key_seals_nothing_after_keyed_rows(
    chain: AppState, caplog: pytest.LogCaptureFixture
) -> None:
    plain = build_state(settings_for(chain.settings.database_url))
    try:
        add_rows(plain, 1, "plain")
        with caplog.at_level(logging.WARNING, logger="wnb.worker"):
            assert seal_audit(plain) == 0
        assert "set WNB_AUDIT_KEY" in caplog.text
        assert seal_audit(chain) == 1  # the keyed process seals it
    finally:
        plain.engine.dispose()


def test_production_refuses_to_start_without_an_audit_key(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="WNB_AUDIT_KEY"):
        Settings(environment="production", secret_key="x" * 40)
    with pytest.raises(ValidationError, match="WNB_AUDIT_KEY must be 32"):
        Settings(environment="production", secret_key="x" * 40, audit_key="short")
    Settings(environment="production", secret_key="x" * 40, audit_key=KEY)
    missing = Settings(
        environment="production", secret_key="x" * 40, audit_key_file=tmp_path / "none"
    )
    with pytest.raises(ValueError, match="WNB_AUDIT_KEY_FILE"):
        load_audit_keys(missing)
    (tmp_path / "short").write_text("too short\n")
    with pytest.raises(ValueError, match="32\\+ characters"):
        load_audit_keys(missing.model_copy(update={"audit_key_file": tmp_path / "short"}))
