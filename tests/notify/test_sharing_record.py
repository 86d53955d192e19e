"""What was shared with whom: the webhooks each agency was sent about a child's flags (with
their delivery state) and what nurses recorded sharing themselves appear in the child's
chronology; a recorded sharing that is wrong is a 422 naming the field and keeps nothing."""

from __future__ import annotations

from fastapi.testclient import TestClient

from app.main import create_app
from app.notify.dispatcher import Dispatcher
from app.runtime import AppState
from tests.factories import sign_in
from tests.notify.conftest import Subscribed
from tests.notify.kit import infant_in

SHARED = {
    "agency": "Health visiting team",
    "method": "phone",
    "shared_at": "2026-06-14T10:30:00Z",
    "note": "Discussed both missed appointments; HV to visit this week.",
}


def chronology(client: TestClient, pid: str, *kinds: str) -> list[dict[str, object]]:
    r = client.get(f"/api/children/{pid}/chronology")
    assert r.status_code == 200, r.text
    return [i for i in r.json()["items"] if i["kind"] in kinds]


def test_webhooks_sent_and_sharing_recorded_are_in_the_chronology(
    hooks_client: TestClient, subscribed: Subscribed, dispatcher: Dispatcher
) -> None:
    pid = infant_in(hooks_client, "A81001")
    [pending] = chronology(hooks_client, pid, "notified")
    assert pending["agency"] == "gp agency" and pending["delivery"] == "pending"
    assert pending["payload"] == "id-only" and pending["reasons"] == ["infant-wnb"]
    dispatcher.drain()
    subscribed.hook.received(2)
    [sent] = chronology(hooks_client, pid, "notified")
    assert sent["delivery"] == "delivered" and sent["delivered_at"] is not None

    r = hooks_client.post(f"/api/children/{pid}/sharing", json=SHARED)
    assert r.status_code == 201, r.text
    [shared] = chronology(hooks_client, pid, "shared")
    assert shared["agency"] == "Health visiting team" and shared["method"] == "phone"
    assert shared["note"] == SHARED["note"] and shared["at"].startswith("2026-06-14T10:30")


def test_a_wrong_sharing_record_names_the_field_and_keeps_nothing(
    hooks_client: TestClient,
) -> None:
    pid = infant_in(hooks_client, "A81001")
    for change, where in (
        ({"agency": "  "}, "agency"),
        ({"method": "pigeon"}, "method"),
        ({"shared_at": "2027-01-01T00:00:00Z"}, "shared_at"),  # the test clock is June 2026
        ({"shared_at": "0001-01-01T00:30:00+01:00"}, "shared_at"),  # before year 1 in UTC
    ):
        r = hooks_client.post(f"/api/children/{pid}/sharing", json={**SHARED, **change})
        assert r.status_code == 422, r.text
        assert [i["expression"] for i in r.json()["issue"]] == [[where]]
    for bad in ({"extra": 1}, {"agency": "HV\x00x"}):
        r = hooks_client.post(f"/api/children/{pid}/sharing", json={**SHARED, **bad})
        assert r.status_code == 400, r.text
    assert hooks_client.post("/api/children/nobody/sharing", json=SHARED).status_code == 404
    assert chronology(hooks_client, pid, "shared") == []


def test_the_concern_page_lists_the_webhooks_sent_about_it(
    hooks_client: TestClient, hooks_state: AppState, subscribed: Subscribed, nurse: str
) -> None:
    pid = infant_in(hooks_client, "A81001")
    [pending] = chronology(hooks_client, pid, "notified")
    with TestClient(create_app(state=hooks_state)) as browser:
        assert sign_in(browser, nurse).status_code == 303  # type: ignore[attr-defined]
        words = " ".join(browser.get(f"/ui/flags/{pending['flag_id']}").text.split())
    assert "webhook to gp agency about" in words and "<strong>pending</strong>" in words
