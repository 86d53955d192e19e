"""Search edge cases found by probing: LIKE wildcards taken literally, ids the same length on
both databases, `Prefer: handling`, `_include` within the caller's read scopes, and rule files
nested past the limit. Both databases."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from app.api.yaml_nesting import MAX_YAML_DEPTH
from app.main import create_app
from app.runtime import AppState
from tests.auth_helpers import token_for
from tests.factories import FHIR_JSON, appointment, created_id, patient, post


def matches(bundle: dict[str, Any], mode: str = "match") -> list[str]:
    return [e["resource"]["id"] for e in bundle.get("entry", []) if e["search"]["mode"] == mode]


def test_like_wildcards_in_values_match_literally(client: TestClient) -> None:
    pid = created_id(post(client, "Patient", patient()))
    created_id(post(client, "Appointment", appointment(f"Patient/{pid}")))
    for value in ("%", "_" * len(pid), f"%{pid[-4:]}"):
        r = client.get("/fhir/Appointment", params={"actor": value})
        assert r.status_code == 200, r.text
        assert matches(r.json()) == [], value
    r = client.get("/fhir/Appointment", params={"actor": pid})
    assert len(matches(r.json())) == 1  # the exact id still finds it


def test_ids_of_64_characters_are_kept_and_65_refused_on_both_databases(
    client: TestClient,
) -> None:
    ok, too_long = "a" * 64, "a" * 65
    assert (
        client.put(
            f"/fhir/Patient/{ok}", json={**patient(), "id": ok}, headers=FHIR_JSON
        ).status_code
        == 201
    )
    r = client.put(
        f"/fhir/Patient/{too_long}", json={**patient(), "id": too_long}, headers=FHIR_JSON
    )
    assert r.status_code == 400
    assert r.json()["issue"][0]["expression"] == ["Patient.id"]
    assert client.get(f"/fhir/Patient/{too_long}").status_code == 404


def test_lenient_handling_ignores_unknown_parameters_and_says_which(client: TestClient) -> None:
    pid = created_id(post(client, "Patient", patient()))
    r = client.get(
        "/fhir/Patient",
        params={"_id": pid, "_filter": "name eq x", "shoe-size": "9"},
        headers={"Prefer": "handling=lenient"},
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert matches(body) == [pid]
    [outcome] = [e["resource"] for e in body["entry"] if e["search"]["mode"] == "outcome"]
    assert {i["expression"][0] for i in outcome["issue"]} == {"_filter", "shoe-size"}
    assert {i["severity"] for i in outcome["issue"]} == {"warning"}
    self_link = next(link["url"] for link in body["link"] if link["relation"] == "self")
    assert "shoe-size" not in self_link and "_filter" not in self_link


def test_strict_handling_and_the_default_refuse_unknown_parameters(client: TestClient) -> None:
    for headers in ({"Prefer": "handling=strict"}, {}):
        r = client.get("/fhir/Patient", params={"_filter": "name eq x"}, headers=headers)
        assert r.status_code == 400
        assert r.json()["issue"][0]["expression"] == ["_filter"]


def test_lenient_handling_still_refuses_bad_values_of_known_parameters(
    client: TestClient,
) -> None:
    r = client.get("/fhir/Patient", params={"_count": "²"}, headers={"Prefer": "handling=lenient"})
    assert r.status_code == 400


def test_include_brings_only_types_the_caller_may_read(client: TestClient, state: AppState) -> None:
    pid = created_id(post(client, "Patient", patient()))
    created_id(post(client, "Appointment", appointment(f"Patient/{pid}")))
    with TestClient(create_app(state=state)) as http:
        narrow = token_for(state, http, scopes="system/Appointment.rs")
        wide = token_for(state, http, scopes="system/Appointment.rs system/Patient.r")
        for token, expected in ((narrow, []), (wide, [pid])):
            r = http.get(
                "/fhir/Appointment",
                params={"patient": pid, "_include": "Appointment:patient"},
                headers={"Authorization": f"Bearer {token}"},
            )
            assert r.status_code == 200, r.text
            assert len(matches(r.json())) == 1
            assert matches(r.json(), "include") == expected


def test_rule_files_nested_past_the_limit_are_422(client: TestClient) -> None:
    deep = "rules: " + "[" * (MAX_YAML_DEPTH + 5) + "]" * (MAX_YAML_DEPTH + 5) + "\n"
    r = client.post(
        "/api/rules/backtest", content=deep.encode(), headers={"Content-Type": "application/yaml"}
    )
    assert r.status_code == 422, r.text
    assert r.json()["issue"][0]["expression"] == ["rules_yaml"]
    far_deeper = "rules: " + "[" * 5000 + "]" * 5000 + "\n"
    r = client.post(
        "/api/rules/backtest",
        content=far_deeper.encode(),
        headers={"Content-Type": "application/yaml"},
    )
    assert r.status_code == 422, r.text
