"""Finding a child: by NHS number (with or without spaces), name, date of birth, or part of a
name with a date of birth; each result names its family; audited as a search naming the
children shown; bad queries are a 400 saying what to type."""

from __future__ import annotations

import base64

import pytest
from fastapi.testclient import TestClient

from app.fhir.errors import FhirError
from app.fhir.person_query import person_search
from tests.api.nurse_helpers import audited_for
from tests.ui.conftest import Family


def found(client: TestClient, q: str) -> list[dict[str, object]]:
    r = client.get("/api/children", params={"q": q})
    assert r.status_code == 200, r.text
    return r.json()["results"]


def names(results: list[dict[str, object]]) -> list[object]:
    return [r["name"] for r in results]


def test_by_nhs_number_with_or_without_spaces(client: TestClient, family: Family) -> None:
    plain = found(client, family.ruby_nhs)
    spaced = found(client, f"{family.ruby_nhs[:3]} {family.ruby_nhs[3:6]} {family.ruby_nhs[6:]}")
    assert names(plain) == names(spaced) == ["Ruby Marsh"]
    [ruby] = plain
    assert ruby["nhs_number"] == family.ruby_nhs and ruby["family_id"] == family.family_id
    assert [m["name"] for m in ruby["family"]] == ["Iris Marsh"]  # type: ignore[index]


def test_by_name_date_of_birth_or_both(client: TestClient, family: Family) -> None:
    assert names(found(client, "Marsh")) == ["Iris Marsh", "Ruby Marsh"]
    assert names(found(client, "mar")) == ["Iris Marsh", "Ruby Marsh"]  # part of a name
    assert names(found(client, "02/04/2019")) == ["Ruby Marsh"]
    assert names(found(client, "2019-04-02")) == ["Ruby Marsh"]
    assert names(found(client, "Mar 20/08/2022")) == ["Iris Marsh"]
    assert names(found(client, "Iris Ruby")) == []  # every word must match


def test_the_search_is_audited_naming_the_children_shown(
    client: TestClient, family: Family
) -> None:
    found(client, "Marsh")
    for pid in (family.ruby, family.iris):
        searches = [e for e in audited_for(client, pid) if e["subtype"][0]["code"] == "search"]
        queries = {
            base64.b64decode(x["query"]) for e in searches for x in e["entity"] if "query" in x
        }
        assert b"q=Marsh" in queries  # FHIR keeps the query as base64Binary


@pytest.mark.parametrize(
    ("q", "says"),
    [
        ("", "Type an NHS number"),
        ("   ", "Type an NHS number"),
        ("123 456 7890", "not a valid NHS number"),
        ("31/02/2020", "not a date"),
        ("!!!", "Type an NHS number"),
        ("Marsh\x00", "Type an NHS number"),
    ],
)
def test_a_query_that_cannot_be_searched_is_a_400(client: TestClient, q: str, says: str) -> None:
    r = client.get("/api/children", params={"q": q})
    assert r.status_code == 400, r.text
    [issue] = r.json()["issue"]
    assert says in issue["diagnostics"] and issue["expression"] == ["q"]


def test_agencies_and_sources_may_not_search(
    client: TestClient, role_tokens: dict[str, str]
) -> None:
    for role in ("agency", "source"):
        auth = {"Authorization": f"Bearer {role_tokens[role]}"}
        assert client.get("/api/children", params={"q": "Marsh"}, headers=auth).status_code == 403


def test_the_parser_without_a_database() -> None:
    assert person_search("Ann Smith 1/3/2020") == [
        ("birthdate", "2020-03-01"),
        ("name", "Ann"),
        ("name", "Smith"),
    ]
    assert person_search("O'Brien-Jones") == [("name", "O'Brien-Jones")]
    with pytest.raises(FhirError):
        person_search("x" * 201)
