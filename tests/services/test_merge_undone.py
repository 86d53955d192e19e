"""Merged records (`Patient.link`): a merge stated on either side, and its undoing on either
side, judges both records' families again; a link that closes a cycle is refused."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient

from app.runtime import AppState
from app.services.concerns.backtest import run as run_backtest
from app.services.concerns.family_facts import surviving_records
from app.store import family_repo
from tests.factories import child, missed
from tests.services.test_late_facts import put
from tests.services.test_rules_at_ingest import evidence, flags


def linked(client: TestClient, pid: str, kind: str, other: str) -> dict[str, Any]:
    record = client.get(f"/fhir/Patient/{pid}").json()
    return {**record, "link": [{"type": kind, "other": {"reference": f"Patient/{other}"}}]}


def unlinked(client: TestClient, pid: str) -> dict[str, Any]:
    record = client.get(f"/fhir/Patient/{pid}").json()
    record.pop("link", None)
    return record


def backtest_pairs(state: AppState, now: datetime | None = None) -> set[tuple[str, str]]:
    at = now or state.clock()
    report = state.read(lambda s: run_backtest(s, state.rules, None, None, at))
    return {(f.rule_id, f.child_id) for f in report.firings()}


def live_pairs(client: TestClient, *pids: str) -> set[tuple[str, str]]:
    return {(rule, pid) for pid in pids for rule in flags(client, pid)}


@pytest.mark.parametrize("side", ["surviving", "merged"])
def test_undoing_a_merge_on_either_side_judges_both_records_again(
    client: TestClient, state: AppState, side: str
) -> None:
    merged, surviving = child(client), child(client)
    # Each record's own miss; the window of not-rebooked has closed for both.
    own = missed(client, merged, "2026-05-20")
    missed(client, surviving, "2026-05-25")
    if side == "surviving":
        put(client, "Patient", surviving, linked(client, surviving, "replaces", merged))
    else:
        put(client, "Patient", merged, linked(client, merged, "replaced-by", surviving))
    assert len(evidence(flags(client, surviving)["repeat-wnb"])) == 2
    assert flags(client, merged) == {}  # flags go on the surviving record
    undo = surviving if side == "surviving" else merged
    put(client, "Patient", undo, unlinked(client, undo))
    after = flags(client, surviving)
    assert "repeat-wnb" not in after
    assert f"Appointment/{own}" not in evidence(after["not-rebooked"])
    # The merged record is a child of its own again: its unrebooked miss is flagged.
    assert evidence(flags(client, merged)["not-rebooked"]) == {f"Appointment/{own}"}
    families = state.read(lambda s: family_repo.families_of(s, [merged, surviving]))
    assert families[merged] != families[surviving]
    assert backtest_pairs(state) >= live_pairs(client, merged, surviving)
    assert ("repeat-wnb", surviving) not in backtest_pairs(state)


def test_a_merge_stated_on_both_sides_and_undone_on_one_still_holds(
    client: TestClient,
) -> None:
    merged, surviving = child(client), child(client)
    missed(client, merged, "2026-06-05")
    missed(client, surviving, "2026-06-08")
    put(client, "Patient", merged, linked(client, merged, "replaced-by", surviving))
    put(client, "Patient", surviving, linked(client, surviving, "replaces", merged))
    put(client, "Patient", surviving, unlinked(client, surviving))
    # The merged record still says it was replaced: the merge stands.
    assert len(evidence(flags(client, surviving)["repeat-wnb"])) == 2


def test_a_link_that_closes_a_cycle_is_refused(client: TestClient) -> None:
    a, b = child(client), child(client)
    put(client, "Patient", a, linked(client, a, "replaced-by", b))
    r = client.put(f"/fhir/Patient/{b}", json=linked(client, b, "replaced-by", a))
    assert r.status_code == 422, r.text
    [issue] = r.json()["issue"]
    assert issue["expression"] == ["Patient.link"]
    assert client.get(f"/fhir/Patient/{b}").json().get("link") is None  # nothing changed


def test_a_longer_cycle_in_a_bundle_is_refused_naming_the_entry(client: TestClient) -> None:
    a, b, c = child(client), child(client), child(client)
    put(client, "Patient", a, linked(client, a, "replaced-by", b))
    put(client, "Patient", b, linked(client, b, "replaced-by", c))
    bundle = {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            {
                "resource": {**linked(client, c, "replaced-by", a), "id": c},
                "request": {"method": "PUT", "url": f"Patient/{c}"},
            }
        ],
    }
    r = client.post("/fhir", json=bundle)
    assert r.status_code == 422, r.text
    assert r.json()["issue"][0]["expression"] == ["Bundle.entry[0].resource.link"]


def test_a_child_is_never_its_own_sibling(client: TestClient) -> None:
    """Two records of one child, one merged into the other, missing twice: repeat-wnb on the
    surviving record, never family-wnb between the two records."""
    a, b = child(client), child(client)
    missed(client, a, "2026-06-05")
    missed(client, b, "2026-06-08")
    put(client, "Patient", a, linked(client, a, "replaced-by", b))
    assert set(flags(client, b)) >= {"repeat-wnb"}
    assert "family-wnb" not in flags(client, a) | flags(client, b)


def test_a_stored_cycle_is_one_record_named_by_its_smallest_id() -> None:
    assert surviving_records({"b": "a", "a": "b"}, ["a", "b"]) == {"a": "a", "b": "a"}
    assert surviving_records({"c": "b", "b": "d", "d": "b"}, ["c"]) == {"c": "b"}
    chain = surviving_records({"a": "b", "b": "c"}, ["a", "b", "c"])
    assert chain == {"a": "c", "b": "c", "c": "c"}
