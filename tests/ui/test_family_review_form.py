"""The family review form on the family page and the child page: nothing chosen for the nurse,
each mistake at its field and linked from the error summary, and a review that applies to the
chosen children's concerns only."""

from __future__ import annotations

import re
from typing import Any

from fastapi.testclient import TestClient

from tests.api.nurse_helpers import flags_of
from tests.factories import csrf_of
from tests.ui.conftest import Family
from tests.ui.test_pages import text_of


def form_of(html: str) -> str:
    start = html.index('id="family-review-form"')
    return html[start : html.index("</form>", start)]


def concern_of(client: TestClient, pid: str) -> dict[str, Any]:
    [flag] = [f for f in flags_of(client, state="all") if f["child"]["id"] == pid]
    return flag


def send(http: TestClient, family: Family, page: str, **form: Any) -> Any:
    token = csrf_of(http.get(page).text)
    return http.post(
        f"/ui/families/{family.family_id}/review",
        data={"csrf_token": token, **form},
        follow_redirects=False,
    )


def summary_links(html: str) -> list[str]:
    summary = html[html.index("nhsuk-error-summary__list") :]
    return re.findall(r'<a href="#([^"]+)"', summary[: summary.index("</ul>")])


def test_the_form_lists_each_open_concern_with_nothing_chosen(
    signed_in: TestClient, family: Family
) -> None:
    for page in (f"/ui/families/{family.family_id}", f"/ui/children/{family.iris}"):
        html = signed_in.get(page).text
        form = form_of(html)
        assert f'value="{family.ruby}"' in form and f'value="{family.iris}"' in form
        assert " checked" not in form and " selected" not in form
        assert 'name="csrf_token"' in form
        words = text_of(form)
        assert "Ruby Marsh" in words and "Iris Marsh" in words
        assert "nhsuk-tag--red" in form  # Ruby's protected-child reason, high priority


def test_a_mistake_is_shown_at_its_field_and_linked_from_the_summary(
    signed_in: TestClient, family: Family
) -> None:
    page = f"/ui/families/{family.family_id}"
    r = send(signed_in, family, page, children=[family.ruby], note="Kept after the error")
    assert r.status_code == 422
    [link] = summary_links(r.text)
    assert link == "review-action-acknowledge" and f'id="{link}"' in r.text
    assert 'id="review-action-error"' in r.text and "Kept after the error" in r.text
    assert (
        f'value="{family.ruby}" aria-describedby="review-child-{family.ruby}-reasons" checked'
        in r.text
    )
    # Closing Ruby's high-priority concern needs an outcome and a note: both fields named.
    r = send(signed_in, family, page, children=[family.ruby], action="close")
    assert r.status_code == 422
    assert summary_links(r.text) == ["review-outcome", "review-note"]
    assert 'id="review-outcome-error"' in r.text and 'id="review-note-error"' in r.text
    assert concern_of(signed_in, family.ruby)["state"] == "open"


def test_a_concern_the_review_does_not_fit_is_named_at_its_child(
    signed_in: TestClient, family: Family
) -> None:
    page = f"/ui/children/{family.ruby}"
    both = [family.ruby, family.iris]
    assert (
        send(
            signed_in, family, page, children=[family.iris], action="acknowledge", back=family.ruby
        ).status_code
        == 303
    )
    r = send(signed_in, family, page, children=both, action="acknowledge", back=family.ruby)
    assert r.status_code == 409
    assert summary_links(r.text) == [f"review-child-{family.iris}"]
    assert "Iris Marsh: The flag is already acknowledged." in text_of(r.text)
    assert "<h1>Ruby Marsh</h1>" in r.text  # back on the page it was sent from
    assert concern_of(signed_in, family.ruby)["state"] == "open"
    r = send(signed_in, family, page, action="acknowledge", back=family.ruby)
    assert r.status_code == 422 and summary_links(r.text) == [f"review-child-{family.ruby}"]


def test_a_review_applies_to_the_chosen_children_only(
    signed_in: TestClient, family: Family
) -> None:
    iris_only = {"children": [family.iris], "action": "acknowledge"}
    r = send(signed_in, family, f"/ui/families/{family.family_id}", **iris_only)
    assert (r.status_code, r.headers["location"]) == (
        303,
        f"/ui/families/{family.family_id}?reviewed=acknowledge#family-review",
    )
    assert "Saved: acknowledged." in text_of(signed_in.get(r.headers["location"]).text)
    assert concern_of(signed_in, family.iris)["state"] == "acknowledged"
    assert concern_of(signed_in, family.ruby)["state"] == "open"
    r = send(
        signed_in,
        family,
        f"/ui/children/{family.ruby}",
        children=[family.ruby, family.iris],
        action="note",
        note="Family seen together at clinic.",
        back=family.ruby,
    )
    assert r.status_code == 303
    assert r.headers["location"].startswith(f"/ui/children/{family.ruby}?reviewed=note")


def test_a_forged_form_changes_nothing(signed_in: TestClient, family: Family) -> None:
    r = signed_in.post(
        f"/ui/families/{family.family_id}/review",
        data={"csrf_token": "forged", "children": [family.iris], "action": "acknowledge"},
    )
    assert r.status_code == 403 and "The form has expired" in r.text
    assert concern_of(signed_in, family.iris)["state"] == "open"
