"""One concern per child: the family of issue 18 (mother; Leo, 8 months; Mia, 4, on a child
protection plan since 1 September; Tyler, 9; eight misses across seven services) gives three
concerns, Mia's with her five reasons, and the concern's lifecycle follows its reasons."""

from __future__ import annotations

import random
from typing import Any

import pytest
from fastapi.testclient import TestClient

from app.rules.concerns import desired_concerns
from app.rules.desired import FamilyFacts, desired_flags
from app.runtime import AppState
from app.services.concerns import family_facts
from tests.conftest import FIXED_NOW
from tests.factories import appointment, nhs_number, patient, post, related_person
from tests.services.test_late_facts import status_flag, system_reviews
from tests.services.test_rules_at_ingest import EVIDENCE, concerns, reasons

MIA_REASONS = {"protected-child", "repeat-wnb", "family-wnb", "multi-service", "not-rebooked"}


def family_resources() -> tuple[list[tuple[str, dict[str, Any]]], dict[str, str]]:
    """The family's resources with client-chosen ids (so any order can be posted by PUT)."""
    ids = {
        "leo": f"leo-{nhs_number()}",
        "mia": f"mia-{nhs_number()}",
        "tyler": f"ty-{nhs_number()}",
    }
    births = {"leo": "2025-10-15", "mia": "2022-03-01", "tyler": "2017-01-10"}
    mother = nhs_number()
    out: list[tuple[str, dict[str, Any]]] = []
    for name, pid in ids.items():
        out.append(("Patient", {**patient(birth=births[name], given=name.title()), "id": pid}))
        rp = related_person(f"Patient/{pid}", mother)
        out.append(("RelatedPerson", {**rp, "id": f"rp-{pid}"}))
    out.append(
        ("Flag", {**status_flag(ids["mia"], {"start": "2025-09-01"}), "id": f"cp-{ids['mia']}"})
    )
    misses = [
        ("leo", "2026-06-01", "health-visiting"),
        ("leo", "2026-06-08", "immunisation"),
        ("mia", "2026-05-20", "dental"),
        ("mia", "2026-06-05", "gp"),
        ("mia", "2026-06-09", "paediatrics"),
        ("mia", "2026-06-12", "speech-therapy"),
        ("tyler", "2026-06-03", "optometry"),
        ("tyler", "2026-06-10", "gp"),
    ]
    for k, (name, day, service) in enumerate(misses):
        body = appointment(f"Patient/{ids[name]}", "noshow", f"{day}T09:00:00Z", service=service)
        out.append(("Appointment", {**body, "id": f"miss-{k}-{ids[name]}"}))
    return out, ids


def put_all(client: TestClient, items: list[tuple[str, dict[str, Any]]]) -> None:
    for type_name, data in items:
        r = client.put(f"/fhir/{type_name}/{data['id']}", json=data)
        assert r.status_code in (200, 201), r.text


def evidence_of(flag: dict[str, Any]) -> list[str]:
    head = next(x for x in flag["extension"] if x["url"] == EVIDENCE)["extension"]
    return [x["valueReference"]["reference"] for x in head if x["url"] == "event"]


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_the_family_gives_three_concerns_and_mias_has_five_reasons(
    client: TestClient, state: AppState, seed: int
) -> None:
    items, ids = family_resources()
    # Patients first (a reference must resolve), the rest in any order.
    patients = [i for i in items if i[0] == "Patient"]
    rest = [i for i in items if i[0] != "Patient"]
    random.Random(seed).shuffle(rest)
    put_all(client, patients + rest)

    found = {name: concerns(client, pid) for name, pid in ids.items()}
    assert [len(found[n]) for n in ("leo", "mia", "tyler")] == [1, 1, 1]
    mia = found["mia"][0]
    assert set(reasons(mia)) == MIA_REASONS
    assert mia["code"]["coding"][0]["code"] == "was-not-brought-concern"
    # Each piece of evidence once, though several reasons rest on it: her four misses, and
    # her brothers' four (family-wnb rests on the whole family's).
    shown = evidence_of(mia)
    assert len(shown) == len(set(shown)) == 8
    head = next(x for x in mia["extension"] if x["url"] == EVIDENCE)["extension"]
    assert {"url": "priority", "valueCode": "high"} in head
    assert "infant-wnb" in reasons(found["leo"][0])
    # One worklist row for the family: three children, each with their concern's reasons.
    page = client.get("/api/worklist").json()
    assert page["total"] == 1 and page["counts"]["concerns"] == 3
    [row] = page["items"]
    assert row["priority"] == "high" and row["has_infant"] is True
    assert [(s["child_id"], s["status"]) for s in row["statuses"]] == [(ids["mia"], "cp-plan")]
    tags = {c["child"]["id"]: {r["rule_id"] for r in c["reasons"]} for c in row["concerns"]}
    assert tags[ids["mia"]] == MIA_REASONS and set(tags) == set(ids.values())

    # The concerns are the pure fold of the evaluation of the stored facts.
    def pure(session: Any) -> dict[str, set[str]]:
        _, loaded = family_facts.load(session, _rows(session, set(ids.values())), True)
        out: dict[str, set[str]] = {}
        for facts in loaded.facts.values():
            wanted = desired_flags(
                state.rules, FamilyFacts(facts.events, facts.statuses), FIXED_NOW
            )
            out.update({c: set(k.reasons) for c, k in desired_concerns(wanted).items()})
        return out

    assert state.read(pure) == {pid: set(reasons(found[n][0])) for n, pid in ids.items()}


def _rows(session: Any, wanted: set[str]) -> Any:
    from app.store import family_repo

    families = family_repo.families_of(session, wanted)
    return family_repo.members_with_records(session, families.values())


def test_a_reason_added_after_a_review_brings_the_concern_back_saying_what(
    client: TestClient, state: AppState
) -> None:
    pid = post(client, "Patient", patient(birth="2019-01-01")).json()["id"]
    for day in ("2026-06-10", "2026-06-12"):
        post(client, "Appointment", appointment(f"Patient/{pid}", start=f"{day}T09:00:00Z"))
    [concern] = concerns(client, pid)
    assert set(reasons(concern)) == {"repeat-wnb"}
    r = client.post(f"/api/flags/{concern['id']}/review", json={"action": "acknowledge"})
    assert r.status_code in (200, 201), r.text
    # A miss at another service: a second reason on the same concern.
    post(
        client,
        "Appointment",
        appointment(f"Patient/{pid}", start="2026-06-13T09:00:00Z", service="gp"),
    )
    [again] = concerns(client, pid)
    assert again["id"] == concern["id"]
    assert set(reasons(again)) == {"repeat-wnb", "multi-service"}
    head = next(x for x in again["extension"] if x["url"] == EVIDENCE)["extension"]
    assert {"url": "review-state", "valueCode": "evidence-changed"} in head
    notes = [n for a, n in system_reviews(state, concern["id"]) if a == "evidence-changed"]
    assert any("reason added" in n and "new evidence" in n for n in notes), notes
