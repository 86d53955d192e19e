"""A concern's review state is one value (`ConcernState`): whether it is open follows from it
alone, what the worklist, the case owners' queries, the pages and the API treat as open agree
with it, and every stored concern's `is_open` column equals its state's after a review cycle.
Its evidence and family lists read back as lists and are stored as the same text as before."""

from __future__ import annotations

import uuid
from typing import Any, get_args

import orjson
from fastapi.testclient import TestClient
from sqlalchemy import select, text

from app.api.nurse_params import StateFilter
from app.fhir.concern_state import CLOSED_STATES, OPEN_STATES, ConcernState, state_values
from app.runtime import AppState
from app.services.nurse.shapes.concern import StateWord
from app.services.nurse.worklist import STATES, UNREVIEWED
from app.store.models import RaisedFlag
from app.ui.chronology_view import CLOSED
from app.ui.labels import STATE_TAGS
from app.ui.labels import STATES as STATE_LABELS
from tests.api.nurse_helpers import only_flag
from tests.factories import appointment, child


def test_every_state_is_open_exactly_where_the_worklist_and_pages_say() -> None:
    assert {s.value for s in ConcernState} == {
        "open",
        "acknowledged",
        "evidence-changed",
        "closed",
        "withdrawn",
    }
    for s in ConcernState:
        assert s.is_open == (s in STATES["all"]) == (s not in CLOSED) == (s in OPEN_STATES)
        assert s.is_open != (s in CLOSED_STATES)
        assert STATES[s] == (s,)  # each state is a filter word of its own
        assert state_values(s) == {"state": s, "is_open": s.is_open}
        assert s in STATE_LABELS and s in STATE_TAGS
    assert set(OPEN_STATES) >= UNREVIEWED
    # The API's enumerations are the enum's words (what openapi.json lists).
    assert get_args(StateWord) == tuple(s.value for s in ConcernState)
    assert set(get_args(StateFilter)) == {*(s.value for s in ConcernState), "all"}


def _miss(client: TestClient, pid: str, day: str, status: str = "noshow") -> str:
    """PUT (create or update) a dental appointment with an id of its own."""
    aid = f"cs-{pid}-{day}"
    body = {**appointment(f"Patient/{pid}", status, f"{day}T09:00:00Z", aid), "id": aid}
    r = client.put(f"/fhir/Appointment/{aid}", json=body)
    assert r.status_code in (200, 201), r.text
    return aid


def _twice_missed(client: TestClient, name: str) -> tuple[str, str]:
    pid = child(client, "2020-03-01", name, f"Cs{uuid.uuid4().hex[:6]}")
    _miss(client, pid, "2026-06-05")
    _miss(client, pid, "2026-06-10")
    return pid, only_flag(client, pid, "repeat-wnb")["flag_id"]


def _review(client: TestClient, flag: str, **body: Any) -> dict[str, Any]:
    r = client.post(f"/api/flags/{flag}/review", json=body)
    assert r.status_code == 200, r.text
    return dict(r.json())


def test_a_review_cycle_leaves_is_open_equal_to_the_state(
    client: TestClient, state: AppState
) -> None:
    # Left open.
    _, left = _twice_missed(client, "Ada")
    # Acknowledged, then new evidence: evidence-changed (still open).
    bea, changed = _twice_missed(client, "Bea")
    assert _review(client, changed, action="acknowledge")["state"] == "acknowledged"
    _miss(client, bea, "2026-06-12")
    # Acknowledged, then closed by a nurse; another closed and reopened.
    _, acked = _twice_missed(client, "Cal")
    _review(client, acked, action="acknowledge")
    _, closed = _twice_missed(client, "Dot")
    closing = {"action": "close", "outcome": "no-further-action", "note": "Seen since."}
    assert _review(client, closed, **closing)["state"] == "closed"
    _, reopened = _twice_missed(client, "Eve")
    _review(client, reopened, **closing)
    assert _review(client, reopened, action="reopen")["state"] == "open"
    # Unreviewed, and one miss corrected to attended: withdrawn by the service.
    fay, withdrawn = _twice_missed(client, "Fay")
    _miss(client, fay, "2026-06-10", "fulfilled")

    ids = [left, changed, acked, closed, reopened, withdrawn]
    rows = state.read(
        lambda s: s.execute(
            select(
                RaisedFlag.flag_id,
                RaisedFlag.state,
                RaisedFlag.is_open,
                RaisedFlag.evidence_events,
                RaisedFlag.family_children,
                RaisedFlag.reasons,
            ).where(RaisedFlag.flag_id.in_(ids))
        ).all()
    )
    by_id = {r.flag_id: r for r in rows}
    assert {f: by_id[f].state for f in ids} == {
        left: "open",
        changed: "evidence-changed",
        acked: "acknowledged",
        closed: "closed",
        reopened: "open",
        withdrawn: "withdrawn",
    }
    for r in rows:
        assert r.is_open == ConcernState(r.state).is_open, r
        assert isinstance(r.evidence_events, list) and isinstance(r.family_children, list)
        assert isinstance(r.reasons, list) and all(isinstance(x, dict) for x in r.reasons)
    assert len(by_id[changed].evidence_events) == 3

    # Every stored concern, whoever wrote it, agrees; and the lists are stored as the text
    # `orjson.dumps` gives of the list read back (what the column held before it was typed).
    raw = state.read(
        lambda s: s.execute(
            text(
                "SELECT state, is_open, evidence_events, family_children, reasons FROM raised_flag"
            )
        ).all()
    )
    assert len(raw) >= len(ids)
    for st, is_open, events, family, reasons in raw:
        assert bool(is_open) == ConcernState(st).is_open
        for stored in (events, family):
            assert isinstance(stored, str)
            parsed = orjson.loads(stored)
            assert parsed == sorted(parsed) and orjson.dumps(parsed).decode() == stored
        assert isinstance(reasons, str)  # highest priority first, so not sorted
        assert orjson.dumps(orjson.loads(reasons)).decode() == reasons
