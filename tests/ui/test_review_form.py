"""Reviewing a flag through the page's form: each action, the history (system entries apart),
CSRF refusal, and mistakes shown on the form rather than as an error page."""

from __future__ import annotations

from datetime import timedelta

from fastapi.testclient import TestClient

from app.runtime import AppState
from tests.api.nurse_helpers import noshow, only_flag
from tests.conftest import FIXED_NOW
from tests.factories import child, csrf_of
from tests.ui.conftest import Family
from tests.ui.test_pages import text_of


def submit(http: TestClient, flag: str, **form: str) -> object:
    token = csrf_of(http.get(f"/ui/flags/{flag}").text)
    return http.post(
        f"/ui/flags/{flag}/review", data={"csrf_token": token, **form}, follow_redirects=False
    )


def test_acknowledge_outcome_close_reopen(
    signed_in: TestClient, state: AppState, family: Family, nurse: str
) -> None:
    r = submit(signed_in, family.flag, action="acknowledge")
    assert r.status_code == 303  # type: ignore[attr-defined]
    assert r.headers["location"] == f"/ui/flags/{family.flag}?done=acknowledge"  # type: ignore[attr-defined]
    page = text_of(signed_in.get(r.headers["location"]).text)  # type: ignore[attr-defined]
    assert "Saved: acknowledged." in page and f"Acknowledged by {nurse}" in page
    state.clock = lambda: FIXED_NOW + timedelta(minutes=1)
    submit(
        signed_in,
        family.flag,
        action="outcome",
        outcome="discussed-with-health-visitor",
        note="Spoke to HV; home visit booked.",
    )
    state.clock = lambda: FIXED_NOW + timedelta(minutes=2)
    closing = submit(signed_in, family.flag, action="close", note="Plan reviewed; HV visiting.")
    assert closing.status_code == 303  # type: ignore[attr-defined]
    closed = text_of(signed_in.get(f"/ui/flags/{family.flag}").text)
    assert "Closed by" in closed and "Discussed with health visitor" in closed
    assert "Spoke to HV; home visit booked." in closed
    assert "Reopen the flag" in closed and "Close the flag" not in closed
    state.clock = lambda: FIXED_NOW + timedelta(minutes=3)
    assert submit(signed_in, family.flag, action="reopen").status_code == 303  # type: ignore[attr-defined]
    reopened = signed_in.get(f"/ui/flags/{family.flag}").text
    history = reopened[reopened.index('id="review-history"') :]
    order = [
        w for w in ("Reopened", "Closed", "Recorded an outcome", "Acknowledged") if w in history
    ]
    assert order == ["Reopened", "Closed", "Recorded an outcome", "Acknowledged"]
    assert [history.index(w) for w in order] == sorted(history.index(w) for w in order)


def test_a_form_without_its_csrf_token_is_refused(
    signed_in: TestClient, client: TestClient, family: Family
) -> None:
    r = signed_in.post(
        f"/ui/flags/{family.flag}/review",
        data={"action": "acknowledge", "csrf_token": "forged"},
    )
    assert r.status_code == 403 and "The form has expired" in r.text
    assert client.get(f"/api/flags/{family.flag}").json()["state"] == "open"
    missing = signed_in.post(f"/ui/flags/{family.flag}/review", data={"action": "acknowledge"})
    assert missing.status_code == 403


def test_mistakes_come_back_on_the_form(signed_in: TestClient, family: Family) -> None:
    r = submit(signed_in, family.flag, action="outcome", note="Kept after the error")
    assert r.status_code == 422  # type: ignore[attr-defined]
    words = text_of(r.text)  # type: ignore[attr-defined]
    assert "There is a problem" in words and "Say which outcome" in words
    assert "Kept after the error" in r.text  # type: ignore[attr-defined]
    unknown = submit(signed_in, family.flag, action="delete")
    assert unknown.status_code == 422  # type: ignore[attr-defined]
    assert "Choose what you want to do" in unknown.text  # type: ignore[attr-defined]
    assert submit(signed_in, family.flag, action="acknowledge").status_code == 303  # type: ignore[attr-defined]
    twice = submit(signed_in, family.flag, action="acknowledge")
    assert twice.status_code == 409 and "already acknowledged" in twice.text  # type: ignore[attr-defined]


def test_a_withdrawn_flag_shows_the_system_entry(signed_in: TestClient, client: TestClient) -> None:
    """A correction (the second miss was in fact attended) withdraws an unreviewed flag: the
    page names the state in words and shows the service's own entry apart from people's."""
    ann = child(client, "2020-03-01", "Ann", "Marsh")
    noshow(client, ann, "2026-06-05")  # the rebooking windows still open: one reason only
    second = noshow(client, ann, "2026-06-10")
    flag = only_flag(client, ann, "repeat-wnb")["flag_id"]
    corrected = client.get(f"/fhir/Appointment/{second}").json()
    corrected["status"] = "fulfilled"
    assert client.put(f"/fhir/Appointment/{second}", json=corrected).status_code == 200
    page = signed_in.get(f"/ui/flags/{flag}")
    assert page.status_code == 200
    words = text_of(page.text)
    assert "Withdrawn" in words and "System Withdrawn by the system" in words
    assert "wnb-review--system" in page.text
    assert "Reopen the flag" in words and "Close the flag" not in words
    worklist = text_of(signed_in.get("/ui/", params={"state": "withdrawn"}).text)
    assert "1 family with 1 concern matching" in worklist and "Withdrawn" in worklist
