"""Status at a glance and printing a chronology: the banner names the plan and since when, the
GP practice and the carers; the print view carries the marking, who printed it and when, the
NHS numbers and every review note, no forms; printing is audited as a disclosure."""

from __future__ import annotations

from fastapi.testclient import TestClient

from app.ui.print_marking import css_string
from tests.api.nurse_helpers import audited_for
from tests.factories import created_id, csrf_of, nhs_number, patient, post
from tests.ui.conftest import Family
from tests.ui.test_pages import text_of


def banner_of(html: str) -> str:
    start = html.index('id="status-banner"')
    return text_of(html[start : html.index("</div>\n</div>", start)])


def test_the_banner_shows_the_plan_since_when_and_the_carers(
    signed_in: TestClient, family: Family
) -> None:
    words = banner_of(signed_in.get(f"/ui/children/{family.ruby}").text)
    assert "Child protection plan since 1 March 2026" in words
    assert "Carers:" in words and "GP practice: not recorded" in words
    iris = banner_of(signed_in.get(f"/ui/children/{family.iris}").text)
    assert "No child protection plan" in iris  # her sister's plan is not hers


def test_the_banner_names_the_gp_practice_and_a_death(
    signed_in: TestClient, client: TestClient
) -> None:
    body = patient(nhs=nhs_number(), birth="2021-01-05", given="Ada", family="Lake")
    body["generalPractitioner"] = [{
        "display": "Riverside Surgery",
        "identifier": {"system": "https://fhir.nhs.uk/Id/ods-organization-code", "value": "A81001"},
    }]  # fmt: skip
    body["deceasedBoolean"] = True
    ada = created_id(post(client, "Patient", body))
    words = banner_of(signed_in.get(f"/ui/children/{ada}").text)
    assert "GP practice: Riverside Surgery (A81001)" in words
    assert "Deceased (date not known)" in words


def test_the_print_view_is_marked_signed_and_audited_as_a_disclosure(
    signed_in: TestClient, family: Family, client: TestClient, nurse: str
) -> None:
    html = signed_in.get(f"/ui/children/{family.ruby}/print").text
    words = text_of(html)
    assert "OFFICIAL-SENSITIVE" in words and f"Printed by {nurse} on" in words
    assert "<form" not in html.split('id="maincontent"')[1]  # no review or owner forms
    nhs = family.ruby_nhs
    assert f"{nhs[:3]} {nhs[3:6]} {nhs[6:]}" in words
    # DICOM "Export": a disclosure, of a read
    [printed] = [e for e in audited_for(client, family.ruby) if e["type"]["code"] == "110106"]
    assert printed["subtype"][0]["code"] == "read"
    fam = text_of(signed_in.get(f"/ui/families/{family.family_id}/print").text)
    assert "Ruby Marsh" in fam and "Iris Marsh" in fam and "OFFICIAL-SENSITIVE" in fam
    assert any(
        e["type"]["code"] == "110106" for e in audited_for(client, family.iris)
    )  # the family's printout names every child


def test_a_child_page_links_to_its_print_view(signed_in: TestClient, family: Family) -> None:
    html = signed_in.get(f"/ui/children/{family.ruby}").text
    assert f'href="/ui/children/{family.ruby}/print"' in html
    assert "OFFICIAL-SENSITIVE" not in html


def test_an_unknown_childs_print_view_is_a_404(signed_in: TestClient) -> None:
    assert signed_in.get("/ui/children/nobody/print").status_code == 404
    assert signed_in.get("/ui/families/nobody/print").status_code == 404


def test_a_nurse_records_sharing_on_the_child_page_and_it_prints(
    signed_in: TestClient, family: Family
) -> None:
    page = signed_in.get(f"/ui/children/{family.ruby}").text
    assert "Nothing shared yet." in text_of(page)
    form = {
        "csrf_token": csrf_of(page),
        "agency": "Health visiting team",
        "method": "phone",
        "shared_on": "2026-06-14",
        "note": "Discussed by phone with the health visitor.",
    }
    done = signed_in.post(f"/ui/children/{family.ruby}/sharing", data=form, follow_redirects=False)
    assert done.status_code == 303
    words = text_of(signed_in.get(done.headers["location"]).text)
    assert "Sharing recorded." in words and "shared with Health visiting team, by phone" in words
    printed = text_of(signed_in.get(f"/ui/children/{family.ruby}/print").text)
    assert "Shared with Health visiting team" in printed
    assert "Discussed by phone with the health visitor." in printed
    path = f"/ui/children/{family.ruby}/sharing"
    bad = signed_in.post(path, data={**form, "method": "pigeon"})
    assert bad.status_code == 422 and "Say how it was shared" in bad.text
    tomorrow = signed_in.post(path, data={**form, "shared_on": "2026-06-16"})
    assert tomorrow.status_code == 422 and "cannot be in the future" in tomorrow.text
    assert signed_in.post(path, data={**form, "agency": "HV\x00x"}).status_code == 422
    assert signed_in.post(path, data={**form, "csrf_token": "wrong"}).status_code == 403
    assert (
        text_of(signed_in.get(f"/ui/children/{family.ruby}").text).count("Shared with Health") == 1
    )


def test_a_name_cannot_break_out_of_the_print_stylesheet() -> None:
    assert css_string('Jo "} body {display:none} \\ \n') == '"Jo  } body {display:none}    "'


def test_the_family_page_has_each_childs_status_at_a_glance(
    signed_in: TestClient, family: Family
) -> None:
    html = signed_in.get(f"/ui/families/{family.family_id}").text
    words = banner_of(html).replace(" :", ":").replace(" ;", ";")  # tags stand for spaces
    assert "Ruby Marsh: Child protection plan since 1 March 2026;" in words
    assert "Iris Marsh: no plan, looked-after or child-in-need status now" in words
    assert "Carers and adults:" in words and "GP practice: not recorded" in words
