"""`actor` and `subject` share their Patient values with `patient`: stored once, under
`patient`, and found by either name, in searches, counts and _include, also where an older
store holds them twice."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from app.fhir.index import SEARCH_PARAMS
from app.runtime import AppState
from app.store.models import Resource, SearchIndex
from tests.factories import appointment, child, created_id, post


def _refs(state: AppState, type_name: str, rid: str) -> list[tuple[str, str]]:
    def read(session: Session) -> list[tuple[str, str]]:
        rows = session.execute(
            select(SearchIndex.param, SearchIndex.code)
            .join(Resource, Resource.pk == SearchIndex.resource_pk)
            .where(Resource.type == type_name, Resource.id == rid)
        ).all()
        return sorted((p, c) for p, c in rows if c and "/" in c)

    return state.read(read)


def _found(client: TestClient, path: str, **params: Any) -> tuple[list[str], list[str], int]:
    r = client.get(f"/fhir/{path}", params={**params, "_total": "accurate"})
    assert r.status_code == 200, r.text
    body = r.json()
    entries = body.get("entry", [])
    matched = [e["resource"]["id"] for e in entries if e["search"]["mode"] == "match"]
    included = [e["resource"]["id"] for e in entries if e["search"]["mode"] == "include"]
    return matched, included, body["total"]


def _flag(pid: str) -> dict[str, Any]:
    return {
        "resourceType": "Flag",
        "status": "active",
        "subject": {"reference": f"Patient/{pid}"},
        "code": {"coding": [{"system": "https://example.org/flags", "code": "cp-plan"}]},
        "period": {"start": "2026-01-01"},
    }


def test_a_param_stores_under_a_narrower_one_only_over_the_same_paths() -> None:
    # Skipping a value is safe only if the narrower param draws it from the same elements
    # and keeps it (its target is the type skipped): else a search would lose it.
    shared = [
        (type_name, name, param)
        for type_name, params in SEARCH_PARAMS.items()
        for name, param in params.items()
        if param.stored_under
    ]
    assert {(t, n) for t, n, _ in shared} == {
        ("Appointment", "actor"),
        ("Flag", "subject"),
        ("Observation", "subject"),
    }
    for type_name, _, param in shared:
        assert param.stored_under is not None
        narrower = SEARCH_PARAMS[type_name][param.stored_under[0]]
        assert narrower.kind == param.kind == "reference"
        assert narrower.paths == param.paths
        assert narrower.target == param.stored_under[1]


def test_a_patient_actor_is_stored_once_and_found_by_either_name(
    client: TestClient, state: AppState
) -> None:
    pid, other = child(client), child(client, given="Bo")
    aid = created_id(post(client, "Appointment", appointment(f"Patient/{pid}", ident="SR1")))
    post(client, "Appointment", appointment(f"Patient/{other}", ident="SR2"))
    assert _refs(state, "Appointment", aid) == [("patient", f"Patient/{pid}")]
    for params in (
        {"actor": f"Patient/{pid}"},
        {"actor": pid},
        {"patient": pid},
        {"patient": f"Patient/{pid}"},
    ):
        assert _found(client, "Appointment", **params) == ([aid], [], 1), params
    both = _found(client, "Appointment", actor=f"Patient/{pid}", _include="Appointment:actor")
    assert both == ([aid], [pid], 1)


def test_a_flag_subject_is_stored_once_and_found_by_either_name(
    client: TestClient, state: AppState
) -> None:
    pid = child(client)
    fid = created_id(post(client, "Flag", _flag(pid)))
    assert _refs(state, "Flag", fid) == [("patient", f"Patient/{pid}")]
    for params in ({"subject": f"Patient/{pid}"}, {"subject": pid}, {"patient": pid}):
        matched, _, total = _found(client, "Flag", **params)
        assert fid in matched and total == len(matched), params
    matched, included, _ = _found(client, "Flag", subject=f"Patient/{pid}", _include="Flag:subject")
    assert fid in matched and included == [pid]


def test_values_an_older_store_holds_twice_are_found_once(
    client: TestClient, state: AppState
) -> None:
    pid = child(client)
    aid = created_id(post(client, "Appointment", appointment(f"Patient/{pid}", ident="SR3")))

    def add_old_row(session: Session) -> None:
        pk = session.scalar(select(Resource.pk).where(Resource.id == aid))
        session.execute(
            insert(SearchIndex).values(
                resource_pk=pk, type="Appointment", param="actor", code=f"Patient/{pid}"
            )
        )

    state.write(add_old_row)
    assert _found(client, "Appointment", actor=f"Patient/{pid}") == ([aid], [], 1)
    assert _found(client, "Appointment", patient=pid, _include="Appointment:actor") == (
        [aid],
        [pid],
        1,
    )
