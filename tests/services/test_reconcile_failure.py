"""A reconciliation that fails (a bug, a rule that cannot be judged) never loses the write:
the facts commit with a durable mark and the worker raises the flag later."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from app.runtime import AppState
from app.services.concerns import reconcile
from app.store.models import CodedEvent, RaisedFlag
from app.store.reconcile_models import ReconcileDue
from tests.factories import child, missed
from tests.services.test_rules_at_ingest import flags


def test_a_failed_reconciliation_commits_the_facts_and_leaves_a_mark(
    client: TestClient, state: AppState, monkeypatch: pytest.MonkeyPatch
) -> None:
    pid = child(client, birth="2026-01-01")  # under one: infant-wnb fires on one miss

    def broken(*_args: Any, **_kwargs: Any) -> Any:
        raise ValueError("a rule that cannot be judged")

    monkeypatch.setattr(reconcile, "desired_flags", broken)
    appt = missed(client, pid, "2026-06-01")  # 201: the write is not refused
    with state.reader() as s:
        assert (
            s.scalar(
                select(func.count()).select_from(CodedEvent).where(CodedEvent.resource_id == appt)
            )
            == 1
        )
        assert s.scalar(select(func.count()).select_from(RaisedFlag)) == 0
        assert (
            s.scalar(
                select(func.count()).select_from(ReconcileDue).where(ReconcileDue.patient_id == pid)
            )
            == 1
        )

    monkeypatch.undo()
    with state.writer() as s:
        assert reconcile.reconcile_due(s, state.write_context(), 100) == 1
        s.commit()
    assert "infant-wnb" in flags(client, pid)
