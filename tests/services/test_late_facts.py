"""Flags follow the facts: late, corrected and withdrawn facts change the flags of every family
they touch, and a flag no longer held is withdrawn or marked for a nurse, never deleted."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from app.runtime import AppState
from app.store import family_repo
from app.store.models import Family, FlagReview, RaisedFlag
from tests.api.nurse_helpers import flags_of
from tests.factories import FHIR_JSON, appointment, nhs_number, post, related_person
from tests.services.test_rules_at_ingest import (
    child,
    concerns,
    evidence,
    flags,
    missed,
    reasons,
    review_state,
)

STATUS_SYSTEM = "https://wnb.dev/fhir/CodeSystem/safeguarding-status"


def status_flag(pid: str, period: dict[str, str], status: str = "active") -> dict[str, Any]:
    return {
        "resourceType": "Flag",
        "status": status,
        "subject": {"reference": f"Patient/{pid}"},
        "period": period,
        "code": {"coding": [{"system": STATUS_SYSTEM, "code": "cp-plan"}]},
    }


def household(*members: str, ended: set[str] | None = None) -> dict[str, Any]:
    ended = ended or set()
    return {
        "resourceType": "Group",
        "type": "person",
        "actual": True,
        "member": [
            {
                "entity": {"reference": f"Patient/{m}"},
                **({"period": {"end": "2026-06-01"}} if m in ended else {}),
            }
            for m in members
        ],
    }


def put(client: TestClient, type_name: str, rid: str, data: dict[str, Any]) -> Any:
    r = client.put(f"/fhir/{type_name}/{rid}", json={**data, "id": rid}, headers=FHIR_JSON)
    assert r.status_code in (200, 201), r.text
    return r.json()


def appointment_again(client: TestClient, pid: str, when: str, ident: str, status: str) -> None:
    body = appointment(f"Patient/{pid}", status, f"{when}T09:00:00Z", ident=ident)
    r = post(client, "Appointment", body)
    assert r.status_code in (200, 201), r.text


def system_reviews(state: AppState, flag_id: str) -> list[tuple[str, str]]:
    def query(s: Any) -> list[tuple[str, str]]:
        rows = s.execute(
            select(FlagReview.action, FlagReview.note)
            .join(RaisedFlag, RaisedFlag.pk == FlagReview.flag_pk)
            .where(RaisedFlag.flag_id == flag_id, FlagReview.by_kind == "system")
            .order_by(FlagReview.pk)
        ).all()
        return [(a, n) for a, n in rows]

    return state.read(query)


def missed_twice(client: TestClient, ident: str | None = None) -> tuple[str, str]:
    """A child not brought on 10 and 12 June (appointments `ident`-1 and `ident`-2 when
    named), and the repeat-wnb flag that raised: (patient id, flag id)."""
    pid = child(client)
    missed(client, pid, "2026-06-10", ident=f"{ident}-1" if ident else None)
    missed(client, pid, "2026-06-12", ident=f"{ident}-2" if ident else None)
    return pid, flags(client, pid)["repeat-wnb"]["id"]


def flag_state(state: AppState, flag_id: str) -> str:
    return state.read(
        lambda s: s.scalar(select(RaisedFlag.state).where(RaisedFlag.flag_id == flag_id))
    )


def test_a_cp_plan_recorded_after_the_miss_raises_protected_child(client: TestClient) -> None:
    pid = child(client)
    missed(client, pid, "2026-06-10")
    assert "protected-child" not in flags(client, pid)
    r = post(client, "Flag", status_flag(pid, {"start": "2026-01-01"}))
    assert r.status_code == 201
    flag = flags(client, pid)["protected-child"]  # read your writes: in place on the 201
    assert evidence(flag) != set()


def test_a_status_entered_in_error_withdraws_its_flag(client: TestClient, state: AppState) -> None:
    pid = child(client)
    sid = post(client, "Flag", status_flag(pid, {"start": "2026-01-01"})).json()["id"]
    missed(client, pid, "2026-06-10")
    raised = flags(client, pid)["protected-child"]
    put(client, "Flag", sid, status_flag(pid, {"start": "2026-01-01"}, "entered-in-error"))
    assert "protected-child" not in flags(client, pid)
    withdrawn = flags(client, pid, status="inactive")["protected-child"]
    assert withdrawn["id"] == raised["id"] and review_state(withdrawn) == "withdrawn"
    [(action, note)] = system_reviews(state, raised["id"])
    assert action == "withdraw" and note.startswith("Withdrawn:")


def test_siblings_linked_after_their_misses_raise_family_wnb(client: TestClient) -> None:
    carer = nhs_number()
    a, b = child(client), child(client)
    missed(client, a, "2026-06-05")
    missed(client, b, "2026-06-07", service="gp")
    assert "family-wnb" not in flags(client, a)
    post(client, "RelatedPerson", related_person(f"Patient/{a}", carer))
    assert "family-wnb" not in flags(client, a)
    post(client, "RelatedPerson", related_person(f"Patient/{b}", carer))
    for pid in (a, b):
        assert "family-wnb" in flags(client, pid)


def test_a_household_posted_late_raises_family_wnb(client: TestClient) -> None:
    a, b = child(client), child(client)
    missed(client, a, "2026-06-05")
    missed(client, b, "2026-06-07")
    assert post(client, "Group", household(a, b)).status_code == 201
    assert "family-wnb" in flags(client, a) and "family-wnb" in flags(client, b)


def test_a_corrected_birth_date_recodes_and_flags(client: TestClient) -> None:
    body = {
        "resourceType": "Patient",
        "identifier": [{"system": "https://fhir.nhs.uk/Id/nhs-number", "value": nhs_number()}],
        "birthDate": "1990-03-01",  # a typo for 2015
    }
    pid = post(client, "Patient", body).json()["id"]
    missed(client, pid, "2026-06-10")
    missed(client, pid, "2026-06-12")
    assert flags(client, pid) == {}  # an adult's DNAs
    put(client, "Patient", pid, {**body, "birthDate": "2015-03-01"})
    assert "repeat-wnb" in flags(client, pid)
    put(client, "Patient", pid, {**body, "birthDate": "2025-09-01"})
    assert "infant-wnb" in flags(client, pid)


def test_merged_records_count_as_one_child(client: TestClient) -> None:
    old, new = child(client), child(client)
    missed(client, old, "2026-06-05")
    missed(client, new, "2026-06-08")
    assert "repeat-wnb" not in flags(client, new)
    r = client.get(f"/fhir/Patient/{old}")
    merged = {
        **r.json(),
        "link": [{"other": {"reference": f"Patient/{new}"}, "type": "replaced-by"}],
    }
    put(client, "Patient", old, merged)
    flag = flags(client, new)["repeat-wnb"]
    assert len(evidence(flag)) == 2
    assert "repeat-wnb" not in flags(client, old)  # flags go on the surviving record


def test_a_miss_corrected_to_attended_withdraws_an_unreviewed_flag(
    client: TestClient, state: AppState
) -> None:
    pid = child(client)
    missed(client, pid, "2026-06-10", ident="C-1")
    second = missed(client, pid, "2026-06-12", ident="C-2")
    flag_id = flags(client, pid)["repeat-wnb"]["id"]
    appointment_again(client, pid, "2026-06-12", "C-2", "fulfilled")
    assert "repeat-wnb" not in flags(client, pid)
    assert flag_state(state, flag_id) == "withdrawn"
    [(action, note)] = system_reviews(state, flag_id)
    assert action == "withdraw" and f"Appointment/{second} is now attended" in note


def test_a_reviewed_flag_whose_evidence_goes_stays_open_for_a_nurse(
    client: TestClient, state: AppState
) -> None:
    pid, flag_id = missed_twice(client, "D")
    assert client.post(f"/api/flags/{flag_id}/review", json={"action": "acknowledge"}).is_success
    appointment_again(client, pid, "2026-06-12", "D-2", "entered-in-error")
    [flag] = concerns(client, pid)  # still active, with no reason holding now
    assert reasons(flag) == {}
    assert review_state(flag) == "evidence-changed"
    assert [a for a, _ in system_reviews(state, flag_id)] == ["evidence-changed"]
    appointment_again(client, pid, "2026-06-12", "D-2", "entered-in-error")  # a re-send
    assert [a for a, _ in system_reviews(state, flag_id)] == ["evidence-changed"]


def test_a_closed_flag_reopens_only_on_new_evidence(client: TestClient, state: AppState) -> None:
    pid, flag_id = missed_twice(client, "E")
    r = client.post(
        f"/api/flags/{flag_id}/review",
        json={"action": "close", "outcome": "no-further-action"},
    )
    assert r.status_code == 200, r.text
    appointment_again(client, pid, "2026-06-12", "E-2", "noshow")  # the same again
    missed(client, pid, "2026-06-12", status="fulfilled", service="gp")  # unrelated fact
    assert "repeat-wnb" not in flags(client, pid)
    third = missed(client, pid, "2026-06-13")
    reopened = flags(client, pid)["repeat-wnb"]
    assert reopened["id"] == flag_id and f"Appointment/{third}" in evidence(reopened)
    assert [a for a, _ in system_reviews(state, flag_id)] == ["reopen"]


def test_a_withdrawn_flag_reopens_when_the_rule_holds_again(client: TestClient) -> None:
    pid, flag_id = missed_twice(client, "F")
    appointment_again(client, pid, "2026-06-12", "F-2", "fulfilled")
    assert "repeat-wnb" not in flags(client, pid)
    appointment_again(client, pid, "2026-06-12", "F-2", "noshow")  # corrected back
    assert flags(client, pid)["repeat-wnb"]["id"] == flag_id


def test_a_carer_moved_to_another_child_splits_the_family(
    client: TestClient, state: AppState
) -> None:
    carer = nhs_number()
    a, b, c = child(client), child(client), child(client)
    post(client, "RelatedPerson", related_person(f"Patient/{a}", carer))
    rp_b = post(client, "RelatedPerson", related_person(f"Patient/{b}", carer)).json()["id"]
    missed(client, a, "2026-06-05")
    missed(client, b, "2026-06-07")
    assert "family-wnb" in flags(client, a)
    # The carer record was attached to the wrong child: moved from b to c.
    put(client, "RelatedPerson", rp_b, related_person(f"Patient/{c}", carer))
    families = state.read(lambda s: family_repo.families_of(s, [a, b, c]))
    assert families[a] == families[c] != families[b]
    assert "family-wnb" not in flags(client, a) and "family-wnb" not in flags(client, b)


def test_a_child_leaving_a_household_splits_it_without_a_conflict(
    client: TestClient, state: AppState
) -> None:
    a, b, c = child(client), child(client), child(client)
    gid = post(client, "Group", household(a, b, c)).json()["id"]
    missed(client, a, "2026-06-05")
    missed(client, b, "2026-06-07")
    assert "family-wnb" in flags(client, a)
    put(client, "Group", gid, household(a, c))  # b left: no 409, the family splits
    families = state.read(lambda s: family_repo.families_of(s, [a, b, c]))
    assert families[a] == families[c] != families[b]
    assert "family-wnb" not in flags(client, b)
    put(client, "Group", gid, household(a, b, c, ended={b}))  # an ended membership
    assert state.read(lambda s: family_repo.families_of(s, [b]))[b] != families[a]


def test_merged_families_leave_no_empty_rows(client: TestClient, state: AppState) -> None:
    a, b = child(client), child(client)
    before = state.read(lambda s: family_repo.families_of(s, [a, b]))
    post(client, "Group", household(a, b))
    after = state.read(lambda s: family_repo.families_of(s, [a, b]))
    assert after[a] == after[b]
    gone = (set(before.values()) - {after[a]}).pop()
    assert state.read(lambda s: s.scalar(select(func.count()).where(Family.family_id == gone))) == 0
    assert client.get(f"/api/families/{gone}/chronology").status_code == 404


def test_a_deceased_childs_open_flags_go_to_a_nurse(client: TestClient, state: AppState) -> None:
    pid, flag_id = missed_twice(client)
    body = client.get(f"/fhir/Patient/{pid}").json()
    put(client, "Patient", pid, {**body, "deceasedDateTime": "2026-06-13"})
    flag = flags(client, pid)["repeat-wnb"]
    assert review_state(flag) == "evidence-changed"  # never closed silently
    assert [a for a, _ in system_reviews(state, flag_id)] == ["deceased"]
    missed(client, pid, "2026-06-14")  # after the death: no new flag, no new evidence
    assert len(evidence(flags(client, pid)["repeat-wnb"])) == 2


def test_the_flag_detail_and_worklist_show_system_reviews(client: TestClient) -> None:
    pid, flag_id = missed_twice(client, "G")
    assert client.post(f"/api/flags/{flag_id}/review", json={"action": "acknowledge"}).is_success
    appointment_again(client, pid, "2026-06-12", "G-2", "fulfilled")
    detail = client.get(f"/api/flags/{flag_id}")
    assert detail.status_code == 200, detail.text
    body = detail.json()
    assert body["state"] == "evidence-changed"
    assert [(r["by"]["kind"], r["action"]) for r in body["reviews"]] == [
        ("client", "acknowledge"),
        ("system", "evidence-changed"),
    ]
    assert flag_id in {item["flag_id"] for item in flags_of(client, state="evidence-changed")}
    assert flag_id in {i["flag_id"] for i in flags_of(client)}


def test_an_adult_in_a_household_is_a_carer_not_a_child(client: TestClient) -> None:
    kid = child(client)
    mother = child(client, birth="1990-02-01")
    gid = post(client, "Group", household(kid, mother)).json()["id"]
    assert gid
    missed(client, mother, "2026-06-05")  # her own DNA: not a child's miss
    missed(client, kid, "2026-06-07")
    assert "family-wnb" not in flags(client, kid)
    body = client.get(f"/api/children/{kid}/family-chronology").json()
    assert [c["id"] for c in body["children"]] == [kid]
    assert mother in {c["patient_id"] for c in body["carers"]}


def test_an_ended_carer_links_no_one(client: TestClient, state: AppState) -> None:
    carer = nhs_number()
    a, b = child(client), child(client)
    post(client, "RelatedPerson", related_person(f"Patient/{a}", carer))
    ended = {**related_person(f"Patient/{b}", carer), "period": {"end": "2026-05-01"}}
    post(client, "RelatedPerson", ended)
    families = state.read(lambda s: family_repo.families_of(s, [a, b]))
    assert families[a] != families[b]


def test_an_inactive_status_ends_when_first_stored_inactive(
    client: TestClient, state: AppState
) -> None:
    from datetime import timedelta

    from app.store.models import SafeguardingStatus
    from tests.conftest import FIXED_NOW

    pid = child(client)
    sid = post(client, "Flag", status_flag(pid, {"start": "2026-01-01"})).json()["id"]
    put(client, "Flag", sid, status_flag(pid, {"start": "2026-01-01"}, "inactive"))
    state.clock = lambda: FIXED_NOW + timedelta(minutes=2)  # within the token's life
    try:
        body = {**status_flag(pid, {"start": "2026-01-01"}, "inactive"), "author": {"display": "x"}}
        assert put(client, "Flag", sid, body)["meta"]["versionId"] == "3"  # a real re-send
    finally:
        state.clock = lambda: FIXED_NOW
    ends = state.read(lambda s: list(s.scalars(select(SafeguardingStatus.end))))
    assert ends == [FIXED_NOW]  # the later re-send did not move it
    # A minute after the plan ended (within the clock-skew tolerance): not a protected child's.
    after = appointment(
        f"Patient/{pid}", "noshow", "2026-06-15T12:01:00Z", end="2026-06-15T12:20:00Z"
    )
    post(client, "Appointment", after)
    assert "protected-child" not in flags(client, pid)


def test_a_flags_evidence_times_follow_its_evidence(client: TestClient, state: AppState) -> None:
    pid = child(client)
    missed(client, pid, "2026-06-01")
    missed(client, pid, "2026-06-05")
    missed(client, pid, "2026-06-09")  # a new version of the concern, with new evidence
    first, last = state.read(
        lambda s: s.execute(
            select(RaisedFlag.first_event_at, RaisedFlag.last_event_at).where(
                RaisedFlag.child_id == pid, RaisedFlag.is_open
            )
        ).one()
    )
    assert (first.date().isoformat(), last.date().isoformat()) == ("2026-06-01", "2026-06-09")


def test_a_carer_identifier_listed_as_shared_links_no_one(
    client: TestClient, state: AppState
) -> None:
    from app.fhir.terminology import CarerIdentifier

    shared = nhs_number()
    a, b = child(client), child(client)
    saved = list(state.terms.never_link_carers)
    state.terms.never_link_carers.append(
        CarerIdentifier(system="https://fhir.nhs.uk/Id/nhs-number", value=shared)
    )
    try:
        for pid in (a, b):
            post(client, "RelatedPerson", related_person(f"Patient/{pid}", shared))
    finally:
        state.terms.never_link_carers[:] = saved
    families = state.read(lambda s: family_repo.families_of(s, [a, b]))
    assert families[a] != families[b]
