"""Search: parameters, prefixes, paging, sorting, totals and _include."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from app.fhir.nhs_number import NHS_NUMBER_SYSTEM
from tests.factories import (
    APPT_SYSTEM,
    appointment,
    created_id,
    nhs_number,
    patient,
    post,
    related_person,
)


def ids(bundle: dict[str, Any], mode: str = "match") -> list[str]:
    return [e["resource"]["id"] for e in bundle.get("entry", []) if e["search"]["mode"] == mode]


def search(client: TestClient, path: str, **params: Any) -> dict[str, Any]:
    r = client.get(f"/fhir/{path}", params=params)
    assert r.status_code == 200, r.text
    assert r.json()["type"] == "searchset"
    return r.json()


@pytest.fixture
def family(client: TestClient) -> dict[str, str]:
    nhs = nhs_number()
    a = created_id(
        post(client, "Patient", patient(nhs, birth="2019-02-03", family="Ó'Brien", given="Siobhán"))
    )
    b = created_id(post(client, "Patient", patient(birth="2021-07-08", family="Obi")))
    post(client, "RelatedPerson", related_person(f"Patient/{a}", nhs_number()))
    appts = {}
    for n, (pid, status, start, service) in enumerate(
        [
            (a, "noshow", "2026-01-10T09:00:00Z", "dental"),
            (a, "fulfilled", "2026-02-10T09:00:00Z", "gp"),
            (a, "noshow", "2026-03-10T09:00:00Z", "gp"),
            (b, "noshow", "2026-03-11T09:00:00Z", "dental"),
            (b, "booked", "2026-07-01T09:00:00Z", "dental"),
        ]
    ):
        appts[f"{n}"] = created_id(
            post(
                client,
                "Appointment",
                appointment(f"Patient/{pid}", status, start, ident=f"S{n}", service=service),
            )
        )
    return {"a": a, "b": b, "nhs": nhs, **appts}


def test_patient_by_identifier_birthdate_name_family(
    client: TestClient, family: dict[str, str]
) -> None:
    a, b = family["a"], family["b"]
    assert ids(search(client, "Patient", identifier=f"{NHS_NUMBER_SYSTEM}|{family['nhs']}")) == [a]
    assert ids(search(client, "Patient", identifier=family["nhs"])) == [a]
    assert ids(search(client, "Patient", birthdate="2019-02-03")) == [a]
    assert ids(search(client, "Patient", birthdate="2019")) == [a]
    assert sorted(ids(search(client, "Patient", birthdate="ge2019-02-03"))) == sorted([a, b])
    assert ids(search(client, "Patient", birthdate="gt2019-02-03")) == [b]
    assert ids(search(client, "Patient", name="siobhan")) == [a]  # case and accent folded
    assert ids(search(client, "Patient", family="o'b")) == [a]
    assert sorted(ids(search(client, "Patient", family="O"))) == sorted([a, b])
    assert ids(search(client, "Patient", **{"family:contains": "bri"})) == [a]


def test_related_person_by_patient(client: TestClient, family: dict[str, str]) -> None:
    assert search(client, "RelatedPerson", patient=family["a"])["total"] == 1
    assert search(client, "RelatedPerson", patient=f"Patient/{family['b']}")["total"] == 0


def test_appointment_by_patient_status_service(client: TestClient, family: dict[str, str]) -> None:
    assert search(client, "Appointment", patient=family["a"])["total"] == 3
    assert ids(
        search(client, "Appointment", patient=family["a"], status="noshow", _sort="date")
    ) == [family["0"], family["2"]]
    assert search(client, "Appointment", status="noshow,fulfilled")["total"] == 4
    assert search(client, "Appointment", **{"service-type": "gp"})["total"] == 2
    assert (
        search(client, "Appointment", **{"service-type": "https://example.org/service|dental"})[
            "total"
        ]
        == 3
    )
    assert ids(search(client, "Appointment", identifier=f"{APPT_SYSTEM}|S3")) == [family["3"]]


def test_appointment_by_childs_nhs_number(client: TestClient, family: dict[str, str]) -> None:
    by_nhs = {"patient:identifier": f"{NHS_NUMBER_SYSTEM}|{family['nhs']}"}
    assert search(client, "Appointment", **by_nhs)["total"] == 3
    assert search(client, "Appointment", **{"patient:identifier": "9000000009"})["total"] == 0


def test_appointment_date_prefixes_repeat_as_and(
    client: TestClient, family: dict[str, str]
) -> None:
    r = client.get("/fhir/Appointment", params=[("date", "ge2026-02-01"), ("date", "lt2026-03-11")])
    assert ids(r.json()) == [family["1"], family["2"]]
    assert ids(search(client, "Appointment", date="2026-03-11")) == [family["3"]]
    assert search(client, "Appointment", date="gt2026-03")["total"] == 1
    assert search(client, "Appointment", date="le2026-01-10")["total"] == 1
    assert search(client, "Appointment", date="lt2026-01-10")["total"] == 0


def test_paging_is_stable_and_complete(client: TestClient, family: dict[str, str]) -> None:
    seen: list[str] = []
    page = search(client, "Appointment", _count=2, _sort="-date")
    assert page["total"] == 5
    while True:
        seen += ids(page)
        nxt = [link["url"] for link in page["link"] if link["relation"] == "next"]
        if not nxt:
            break
        page = client.get(nxt[0].replace("http://testserver", "")).json()
    expected = [family[k] for k in ("4", "3", "2", "1", "0")]
    assert seen == expected


def test_total_and_summary_count(client: TestClient, family: dict[str, str]) -> None:
    assert "total" not in search(client, "Appointment", _total="none")
    counted = search(client, "Appointment", _summary="count")
    assert counted["total"] == 5 and "entry" not in counted


def test_include_patient(client: TestClient, family: dict[str, str]) -> None:
    out = search(client, "Appointment", patient=family["b"], _include="Appointment:patient")
    assert len(ids(out)) == 2
    assert ids(out, "include") == [family["b"]]


def test_last_updated(client: TestClient, family: dict[str, str]) -> None:
    assert search(client, "Appointment", _lastUpdated="ge2026-06-15")["total"] == 5
    assert search(client, "Appointment", _lastUpdated="lt2026-06-15")["total"] == 0


def test_observation_by_patient_code_date(client: TestClient) -> None:
    pid = created_id(post(client, "Patient", patient()))
    for day in ("2026-04-01", "2026-05-01"):
        post(
            client,
            "Observation",
            {
                "resourceType": "Observation",
                "status": "final",
                "subject": {"reference": f"Patient/{pid}"},
                "effectiveDateTime": day,
                "code": {"coding": [{"system": "http://snomed.info/sct", "code": "281399006"}]},
            },
        )
    assert (
        search(client, "Observation", patient=pid, code="http://snomed.info/sct|281399006")["total"]
        == 2
    )
    assert search(client, "Observation", date="ge2026-04-15")["total"] == 1
    assert search(client, "Observation", status="final", patient="nobody")["total"] == 0


@pytest.mark.parametrize(
    ("params", "expression"),
    [
        ({"colour": "red"}, "colour"),
        ({"date": "yesterday"}, "date"),
        ({"_count": "-1"}, "_count"),
        ({"_sort": "name"}, "_sort"),
        ({"status:exact": "noshow"}, "status:exact"),
        ({"_include": "Patient:link"}, "_include"),
        ({"identifier": "|"}, "identifier"),
    ],
)
def test_bad_search_parameters_are_400(
    client: TestClient, params: dict[str, str], expression: str
) -> None:
    r = client.get("/fhir/Appointment", params=params)
    assert r.status_code == 400
    assert r.json()["issue"][0]["expression"] == [expression]
