"""Organisations by name on the nurse pages: the banner's GP practice, the timeline and the
concern's evidence read "Riverside Surgery (A81001)"; a code never named stays a code."""

from __future__ import annotations

from fastapi.testclient import TestClient

from app.fhir.organisations import ODS_SYSTEM
from tests.api.nurse_helpers import only_flag
from tests.api.test_organisation_names import organization, with_organisation
from tests.factories import created_id, nhs_number, patient, post
from tests.ui.test_pages import text_of
from tests.ui.test_print_and_status import banner_of


def test_pages_name_organisations_by_their_organization_resource(
    signed_in: TestClient, client: TestClient
) -> None:
    created_id(post(client, "Organization", organization("A81001", "Riverside Surgery")))
    body = patient(nhs=nhs_number(), birth="2021-01-05", given="Ada", family="Lake")
    # The source's display is older than the Organization's name: the name wins.
    body["generalPractitioner"] = [
        {"display": "Riverside", "identifier": {"system": ODS_SYSTEM, "value": "A81001"}}
    ]
    ada = created_id(post(client, "Patient", body))
    for day in ("2026-01-10", "2026-02-10", "2026-03-10"):
        with_organisation(client, ada, day, "A81001", None)
    with_organisation(client, ada, "2026-04-10", "Z99Z9", None)
    html = signed_in.get(f"/ui/children/{ada}").text
    assert "GP practice: Riverside Surgery (A81001)" in banner_of(html)
    words = text_of(html)
    assert "(Riverside Surgery (A81001))" in words and "(Z99Z9)" in words
    flag = only_flag(client, ada, "repeat-wnb")["flag_id"]
    concern = text_of(signed_in.get(f"/ui/flags/{flag}").text)
    assert "Riverside Surgery (A81001)" in concern
    printed = text_of(signed_in.get(f"/ui/children/{ada}/print").text)
    assert "Riverside Surgery (A81001)" in printed


def test_a_code_never_named_shows_as_the_code(signed_in: TestClient, client: TestClient) -> None:
    body = patient(nhs=nhs_number(), birth="2021-01-05", given="Bo", family="Lake")
    body["generalPractitioner"] = [{"identifier": {"system": ODS_SYSTEM, "value": "C99001"}}]
    bo = created_id(post(client, "Patient", body))
    words = banner_of(signed_in.get(f"/ui/children/{bo}").text)
    assert "GP practice: C99001" in words and "(C99001)" not in words
