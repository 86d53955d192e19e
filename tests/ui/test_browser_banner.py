"""Issue 19's new page content in a real browser, at desktop width and on a phone (390 px):
the banner's other adults, contact and who was to bring the child, organisations by name,
and the concern page's banner and sharing; axe-core finds nothing serious, the console
reports no error."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from playwright.sync_api import Browser, expect

from app.fhir.organisations import ODS_SYSTEM
from tests.api.nurse_helpers import only_flag
from tests.api.test_organisation_names import organization, with_organisation
from tests.conftest import PASSWORD
from tests.factories import created_id, post
from tests.ui.browser import shoot, sign_in

# The module's browser and the live server, shared with the other browser tests.
from tests.ui.test_browser import accessible, browser, site, tab_at  # noqa: F401
from tests.ui.test_household_banner import reeds

pytestmark = pytest.mark.own_connections("a browser against a real server")


def a_household(client: TestClient) -> tuple[str, str]:
    """Ava (GP Riverside Surgery), her mother with a phone and address who was to bring her,
    her brother's father; three missed appointments at a named clinic raise a concern."""
    created_id(post(client, "Organization", organization("A81001", "Riverside Surgery")))
    created_id(post(client, "Organization", organization("RTD01", "Royal Victoria Infirmary")))
    ava, mum, _ = reeds(client)
    stored = client.get(f"/fhir/Patient/{ava}").json()
    stored["generalPractitioner"] = [{"identifier": {"system": ODS_SYSTEM, "value": "A81001"}}]
    assert client.put(f"/fhir/Patient/{ava}", json=stored).status_code == 200
    for day in ("2026-02-10", "2026-03-10", "2026-05-12"):
        appt = with_organisation(client, ava, day, "RTD01", None)
    stored = client.get(f"/fhir/Appointment/{appt}").json()
    stored["participant"].append(
        {"actor": {"reference": f"RelatedPerson/{mum}"}, "status": "accepted"}
    )
    assert client.put(f"/fhir/Appointment/{appt}", json=stored).status_code == 200
    return ava, only_flag(client, ava, "repeat-wnb")["flag_id"]


@pytest.mark.parametrize("width", [1280, 390])
def test_the_banner_and_the_concern_page_in_a_browser(
    browser: Browser,  # noqa: F811 (the fixture imported above)
    site: str,  # noqa: F811
    client: TestClient,
    nurse: str,
    width: int,
) -> None:
    ava, flag = a_household(client)
    with tab_at(browser, width) as (page, problems):
        page.goto(f"{site}/ui/children/{ava}")
        sign_in(page, nurse, PASSWORD)
        banner = page.locator("#status-banner")
        expect(banner).to_contain_text("GP practice: Riverside Surgery (A81001)")
        expect(banner).to_contain_text("Jo Reed (Mother), 07700 900123 (mobile)")
        expect(page.locator("#other-adults")).to_contain_text("Lee Cole (Father)")
        expect(page.locator("#brought-by")).to_contain_text("by Jo Reed (Mother)")
        expect(page.locator("#child-chronology")).to_contain_text(
            "Royal Victoria Infirmary (RTD01)"
        )
        accessible(page)
        shoot(page, f"child-banner-{width}")
        page.goto(f"{site}/ui/flags/{flag}")
        expect(page.locator("#status-banner")).to_contain_text("Lee Cole (Father)")
        expect(page.locator("#evidence")).to_contain_text("Royal Victoria Infirmary (RTD01)")
        expect(page.locator("#sharing")).to_contain_text("Nothing shared yet.")
        accessible(page)
        shoot(page, f"concern-banner-{width}")
        assert problems == [], "the browser reported errors (a CSP refusal, a script failing)"
