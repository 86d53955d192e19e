"""Reviewing a flag through the page's form: each action, the history (system entries apart),
CSRF refusal, and mistakes shown on the form rather than as an error page."""

from __future__ import annotations

from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy import insert

from app.runtime import AppState
from app.store import flags_repo
from app.store.models import FlagReview
from tests.auth.test_sessions import csrf_of
from tests.conftest import FIXED_NOW
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
    assert submit(signed_in, family.flag, action="close").status_code == 303  # type: ignore[attr-defined]
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


def test_system_entries_and_new_states_read_plainly(
    signed_in: TestClient, state: AppState, family: Family
) -> None:
    """Another part of the service withdraws flags and marks changed evidence: the page
    names those states in words and shows the system's entries apart from people's."""

    def withdraw(session: object) -> None:
        row = flags_repo.by_flag_id(session, family.flag)  # type: ignore[arg-type]
        assert row is not None
        flags_repo.change(session, row.pk, {"state": "withdrawn", "is_open": False})  # type: ignore[arg-type]
        session.execute(  # type: ignore[attr-defined]
            insert(FlagReview).values(
                flag_pk=row.pk,
                at=FIXED_NOW,
                by_kind="system",
                by_id="wnb",
                action="withdraw",
                flag_version=1,
            )
        )

    state.write(withdraw)
    page = signed_in.get(f"/ui/flags/{family.flag}")
    assert page.status_code == 200
    words = text_of(page.text)
    assert "Withdrawn" in words and "System Withdrawn by the system" in words
    assert "wnb-review--system" in page.text
    assert "Reopen the flag" in words
