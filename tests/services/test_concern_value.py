"""A concern is one frozen typed value (`Concern`): read alike from the ORM entity and from the
plain rows reconciliation locks, its state typed with `is_open` derived, changed only into a
new value, and the FHIR Flag it renders is the Flag the service stored, whether
reconciliation or a nurse's review wrote it."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from app.fhir.concern_state import ConcernState, state_values
from app.runtime import AppState
from app.services.concerns.concern import Concern
from app.store import flags_repo
from tests.api.nurse_helpers import only_flag
from tests.factories import child, missed


def _body(flag: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in flag.items() if k not in ("id", "meta")}


def _stored_flag(client: TestClient, flag_id: str) -> dict[str, Any]:
    r = client.get(f"/fhir/Flag/{flag_id}")
    assert r.status_code == 200, r.text
    return dict(r.json())


def _both_reads(session: Session, pid: str, flag_id: str) -> tuple[Concern, Concern]:
    entity = flags_repo.by_flag_id(session, flag_id)
    [row], _ = flags_repo.flags_of_children(session, [pid])
    return Concern.of(entity), Concern.of(row)


def test_a_concern_reads_alike_renders_its_stored_flag_and_changes_into_a_new_value(
    client: TestClient, state: AppState
) -> None:
    pid = child(client)
    missed(client, pid, "2026-05-20")
    missed(client, pid, "2026-06-02")
    flag_id = only_flag(client, pid, "repeat-wnb")["flag_id"]

    from_entity, from_row = state.read(lambda s: _both_reads(s, pid, flag_id))
    assert from_entity == from_row
    concern = from_row
    assert concern.state is ConcernState.OPEN and concern.is_open
    assert concern.child_id == pid and concern.pk is not None
    assert len(concern.evidence_events) == 2 and "repeat-wnb" in concern.by_rule()
    # The Flag reconciliation stored is the one the value renders.
    ctx = state.write_context()
    before = _stored_flag(client, flag_id)
    assert _body(concern.flag(ctx).data) == _body(before)

    # A change is a new value; the one it came from is untouched.
    closed = concern.changed({**state_values(ConcernState.CLOSED), "outcome": "other"})
    assert closed.state is ConcernState.CLOSED and not closed.is_open
    assert concern.is_open and concern.outcome is None
    with pytest.raises(dataclasses.FrozenInstanceError):
        concern.state = ConcernState.CLOSED  # type: ignore[misc]
    # A state word as the database gives it back is typed on the way in.
    assert concern.changed({"state": "acknowledged"}).state is ConcernState.ACKNOWLEDGED

    # A nurse's review writes the Flag the reviewed value renders.
    r = client.post(f"/api/flags/{flag_id}/review", json={"action": "acknowledge"})
    assert r.status_code == 200, r.text
    _, after = state.read(lambda s: _both_reads(s, pid, flag_id))
    assert after.state is ConcernState.ACKNOWLEDGED and after.reviewed
    stored = _stored_flag(client, flag_id)
    assert int(stored["meta"]["versionId"]) == int(before["meta"]["versionId"]) + 1
    assert _body(after.flag(state.write_context()).data) == _body(stored)
