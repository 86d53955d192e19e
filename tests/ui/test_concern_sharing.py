"""Sharing on the concern page (issue 19 item 3): what was shared about the concern's child is
listed there as on the child page, and a nurse records sharing from it and comes back to it."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.factories import csrf_of
from tests.ui.conftest import Family
from tests.ui.test_pages import text_of


def test_a_nurse_records_sharing_on_the_concern_page_and_returns_to_it(
    signed_in: TestClient, family: Family
) -> None:
    page = signed_in.get(f"/ui/flags/{family.flag}").text
    assert "Shared with agencies" in text_of(page) and "Nothing shared yet." in text_of(page)
    form = {
        "csrf_token": csrf_of(page),
        "agency": "Social care duty team",
        "method": "secure-email",
        "shared_on": "2026-06-14",
        "note": "Sent the chronology to the duty social worker.",
        "flag_id": family.flag,
    }
    done = signed_in.post(f"/ui/children/{family.ruby}/sharing", data=form, follow_redirects=False)
    assert done.status_code == 303
    assert done.headers["location"] == f"/ui/flags/{family.flag}?shared=saved#sharing"
    words = text_of(signed_in.get(done.headers["location"]).text)
    assert "Sharing recorded." in words
    assert "shared with Social care duty team, by secure email" in words
    # The child page lists the same record: one record, two places to see it.
    child = text_of(signed_in.get(f"/ui/children/{family.ruby}").text)
    assert "shared with Social care duty team" in child
    # A flag id that is not an id sends the nurse to the child page, never elsewhere.
    odd = signed_in.post(
        f"/ui/children/{family.ruby}/sharing",
        data={**form, "flag_id": "//evil.example"},
        follow_redirects=False,
    )
    assert odd.headers["location"].startswith(f"/ui/children/{family.ruby}?")
