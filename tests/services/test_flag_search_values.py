"""A concern's Flag stays findable by every search parameter whatever changed in it.

A new version of the service's own Flag writes its search values again only when they change
(`flag_store.store_flags`): evidence added to an open concern leaves subject, status, code,
category, period and identifier as they were, while a withdrawal, a nurse's close or a reopen
changes status and period. A missed Flag is the dangerous error, so after each kind of change
every Flag search parameter is tried, and the stored search values are checked against the
current version's content, on single POSTs, a mixed Bundle and a nurse's review."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime, timedelta
from typing import Any

from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from app.fhir.index import IndexValue, index_values
from app.runtime import AppState
from app.store.models import RaisedFlag, Resource, SearchIndex
from tests.factories import FHIR_JSON, appointment
from tests.services.test_late_facts import appointment_again, missed_twice
from tests.services.test_rules_at_ingest import child, evidence, flags, missed

CATEGORY = "http://terminology.hl7.org/CodeSystem/flag-category|safety"


def found(client: TestClient, params: dict[str, str]) -> set[str]:
    r = client.get("/fhir/Flag", params={**params, "_count": "100"})
    assert r.status_code == 200, r.text
    return {e["resource"]["id"] for e in r.json().get("entry", [])}


def current(client: TestClient, flag_id: str) -> dict[str, Any]:
    r = client.get(f"/fhir/Flag/{flag_id}")
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


def assert_findable(client: TestClient, state: AppState, flag_id: str) -> dict[str, Any]:
    """The Flag is found by each of its search parameters with its current values, and not
    by the status or period it no longer has; its stored search values are its content's."""
    flag = current(client, flag_id)
    pid = flag["subject"]["reference"].split("/")[1]
    coding = flag["code"]["coding"][0]
    ident = flag["identifier"][0]
    start = date.fromisoformat(flag["period"]["start"][:10])
    is_open = flag["status"] == "active"
    other = "inactive" if is_open else "active"
    finds = {
        "patient": {"patient": pid},
        "subject": {"subject": f"Patient/{pid}"},
        "status": {"status": flag["status"], "patient": pid},
        "code": {"code": f"{coding['system']}|{coding['code']}", "patient": pid},
        "category": {"category": CATEGORY, "patient": pid},
        "date (from its start)": {"date": f"lt{start + timedelta(days=1)}", "patient": pid},
        "date (to its start)": {"date": f"gt{start - timedelta(days=1)}", "patient": pid},
        "identifier": {"identifier": f"{ident['system']}|{ident['value']}"},
    }
    for name, params in finds.items():
        assert flag_id in found(client, params), f"{name} misses the Flag: {params}"
    assert flag_id not in found(client, {"status": other, "patient": pid})
    after_all = {"date": "gt2100-01-01", "patient": pid}  # an open period has no end
    assert (flag_id in found(client, after_all)) == is_open
    if not is_open:
        end = date.fromisoformat(flag["period"]["end"][:10])
        assert flag_id in found(client, {"date": f"le{end}", "patient": pid})
    assert stored_values(state, flag_id) == Counter(index_values(flag))
    return flag


def stored_values(state: AppState, flag_id: str) -> Counter[IndexValue]:
    """The search values stored for the Flag, as `index_values` gives them."""

    def query(s: Any) -> Counter[IndexValue]:
        rows = s.execute(
            select(
                SearchIndex.param,
                SearchIndex.system,
                SearchIndex.code,
                SearchIndex.date_lo,
                SearchIndex.date_hi,
            )
            .join(Resource, Resource.pk == SearchIndex.resource_pk)
            .where(Resource.type == "Flag", Resource.id == flag_id)
        ).all()
        return Counter(IndexValue(*(as_utc(v) for v in row)) for row in rows)

    return state.read(query)


def as_utc(value: Any) -> Any:
    """A stored instant as `index_values` makes it (SQLite gives it back without a zone)."""
    if isinstance(value, datetime) and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC) if isinstance(value, datetime) else value


def test_single_posts_evidence_withdrawal_and_reopen(client: TestClient, state: AppState) -> None:
    pid, flag_id = missed_twice(client, "S")
    raised = assert_findable(client, state, flag_id)
    assert raised["meta"]["versionId"] == "1"
    third = missed(client, pid, "2026-06-14", ident="S-3")  # evidence only
    more = assert_findable(client, state, flag_id)
    assert more["meta"]["versionId"] == "2" and f"Appointment/{third}" in evidence(more)
    assert more["status"] == "active" and more["period"] == raised["period"]
    appointment_again(client, pid, "2026-06-12", "S-2", "fulfilled")  # evidence withdrawn
    assert_findable(client, state, flag_id)
    appointment_again(client, pid, "2026-06-14", "S-3", "fulfilled")  # one miss: withdrawn
    withdrawn = assert_findable(client, state, flag_id)
    assert withdrawn["status"] == "inactive" and "end" in withdrawn["period"]
    appointment_again(client, pid, "2026-06-12", "S-2", "noshow")  # corrected back: reopens
    reopened = assert_findable(client, state, flag_id)
    assert reopened["status"] == "active" and "end" not in reopened["period"]
    assert int(reopened["meta"]["versionId"]) > int(withdrawn["meta"]["versionId"])


def test_a_nurse_closing_and_reopening(client: TestClient, state: AppState) -> None:
    pid, flag_id = missed_twice(client)
    r = client.post(f"/api/flags/{flag_id}/review", json={"action": "acknowledge"})
    assert r.status_code == 200, r.text
    assert_findable(client, state, flag_id)  # the review state is in the content only
    missed(client, pid, "2026-06-14")  # evidence-changed: back in front of the nurse
    assert_findable(client, state, flag_id)
    close = {"action": "close", "outcome": "no-further-action"}
    assert client.post(f"/api/flags/{flag_id}/review", json=close).status_code == 200
    assert assert_findable(client, state, flag_id)["status"] == "inactive"
    reopen = {"action": "reopen", "note": "Mother phoned."}
    assert client.post(f"/api/flags/{flag_id}/review", json=reopen).status_code == 200
    assert assert_findable(client, state, flag_id)["status"] == "active"


def test_a_bundle_mixing_evidence_withdrawal_and_new_concerns(
    client: TestClient, state: AppState
) -> None:
    """One reconciliation writes Flags whose search values change beside Flags whose values
    stay: each is found afterwards by what it now is."""
    more_pid, more_flag = missed_twice(client, "B1")
    gone_pid, gone_flag = missed_twice(client, "B2")
    new_pid = child(client)
    missed(client, new_pid, "2026-06-10")
    entries = [
        appointment(f"Patient/{more_pid}", "noshow", "2026-06-14T09:00:00Z"),
        appointment(f"Patient/{gone_pid}", "fulfilled", "2026-06-12T09:00:00Z", ident="B2-2"),
        appointment(f"Patient/{new_pid}", "noshow", "2026-06-12T09:00:00Z"),
    ]
    bundle = {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            {"resource": e, "request": {"method": "POST", "url": "Appointment"}} for e in entries
        ],
    }
    r = client.post("/fhir", json=bundle, headers=FHIR_JSON)
    assert r.status_code == 200, r.text
    assert assert_findable(client, state, more_flag)["status"] == "active"
    assert assert_findable(client, state, gone_flag)["status"] == "inactive"
    new_flag = flags(client, new_pid)["repeat-wnb"]["id"]
    assert assert_findable(client, state, new_flag)["meta"]["versionId"] == "1"


STEP = st.tuples(
    st.integers(0, 3),  # which of four appointments (its identifier and day)
    st.sampled_from(["noshow", "fulfilled", "entered-in-error", "close", "acknowledge"]),
)


@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(steps=st.lists(STEP, min_size=1, max_size=7))
def test_any_sequence_of_outcomes_and_reviews_leaves_every_flag_findable(
    client: TestClient, state: AppState, steps: list[tuple[int, str]]
) -> None:
    """Whatever the order of misses, attendances, corrections and a nurse's reviews, each of
    the child's Flags is found by every parameter as it now is."""
    pid = child(client)
    for n, what in steps:
        if what in ("close", "acknowledge"):
            flag_id = state.read(
                lambda s: s.scalar(
                    select(RaisedFlag.flag_id).where(RaisedFlag.child_id == pid, RaisedFlag.is_open)
                )
            )
            if flag_id is not None:
                body = {
                    "action": what,
                    **({"outcome": "no-further-action"} if what == "close" else {}),
                }
                r = client.post(f"/api/flags/{flag_id}/review", json=body)
                assert r.status_code in (200, 409), r.text
        else:
            appointment_again(client, pid, f"2026-06-1{n}", f"{pid}-{n}", what)
        ids = state.read(
            lambda s: list(s.scalars(select(RaisedFlag.flag_id).where(RaisedFlag.child_id == pid)))
        )
        for flag_id in ids:
            assert_findable(client, state, flag_id)
