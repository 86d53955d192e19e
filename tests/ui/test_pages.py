"""The nurse's pages over HTTP on both databases: what each shows, that each view is audited,
who may see them, and what happens without a session."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

from tests.api.nurse_helpers import audited_for
from tests.ui.conftest import Family


def text_of(html: str) -> str:
    """The page's words, tags and runs of spaces removed, to match what a person reads."""
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


def test_worklist_lists_the_flagged_children(signed_in: TestClient, family: Family) -> None:
    r = signed_in.get("/ui/")
    assert r.status_code == 200
    words = text_of(r.text)
    assert "Ruby Marsh" in words and "Iris Marsh" in words
    spaced = f"{family.ruby_nhs[:3]} {family.ruby_nhs[3:6]} {family.ruby_nhs[6:]}"
    assert spaced in words
    assert "Repeatedly not brought" in words and "Child on a plan not brought" in words
    assert "15 June 2026" in words  # when the flags fired, as a person writes a date
    assert f'href="/ui/children/{family.ruby}"' in r.text
    assert "script-src 'self';" in r.headers["content-security-policy"]
    assert "unsafe-inline" not in r.headers["content-security-policy"]


def test_worklist_filters_count_and_page(signed_in: TestClient, family: Family) -> None:
    everything = text_of(signed_in.get("/ui/").text)
    # Ruby and Iris are sisters: one row, two concerns.
    assert "1 family with 2 concerns matching" in everything
    assert "Families 1 to 1 of 1" in everything and "Marsh family" in everything
    assert "Child protection plan: Ruby" in everything
    only = text_of(signed_in.get("/ui/", params={"rule": "repeat-wnb"}).text)
    assert "1 family with 1 concern matching" in only and "Iris Marsh" not in only
    assert re.search(r"Repeatedly not brought\s*: 1", only)
    assert "Next" not in only
    # A stale bookmark with values the form cannot send still opens the worklist.
    odd = signed_in.get("/ui/", params={"state": "nonsense", "page": "x", "age_band": "9"})
    assert odd.status_code == 200 and "1 family with 2 concerns" in text_of(odd.text)
    beyond = text_of(signed_in.get("/ui/", params={"page": "3"}).text)
    assert "No concerns match" in beyond and "Previous" in beyond


def test_worklist_can_show_only_young_adults(signed_in: TestClient, family: Family) -> None:
    page = signed_in.get("/ui/").text
    assert '<option value="18+"' in page  # hazard log H-84
    adults = text_of(signed_in.get("/ui/", params={"age_band": "18+"}).text)
    assert "No concerns match" in adults and "Ruby Marsh" not in adults


def test_child_page_shows_family_flags_and_timeline(signed_in: TestClient, family: Family) -> None:
    r = signed_in.get(f"/ui/children/{family.ruby}")
    assert r.status_code == 200
    words = text_of(r.text)
    assert "2 April 2019" in words and "7 years" in words
    assert "Iris Marsh" in words and f'href="/ui/children/{family.iris}"' in r.text
    assert "Mother" in words
    assert "Child protection plan" in words  # a status period, shaded and in the key
    assert r.text.count('class="mark mark--was-not-brought"') >= 2
    assert 'class="band band--cp-plan"' in r.text
    assert f'href="/ui/families/{family.family_id}"' in r.text
    assert f'href="/ui/flags/{family.flag}"' in r.text


def test_a_child_page_flag_card_names_its_reasons(signed_in: TestClient, family: Family) -> None:
    page = signed_in.get(f"/ui/children/{family.ruby}").text
    card = page.split('class="wnb-reason-tags">', 1)[1].split("<h4", 1)[0]
    tags = card.split("</p>", 1)[0]
    assert text_of(tags).replace("Reasons:", "").strip(), tags  # each reason named
    assert "<li></li>" not in card, card  # and summarised


def test_family_page_has_one_row_per_child(signed_in: TestClient, family: Family) -> None:
    r = signed_in.get(f"/ui/families/{family.family_id}")
    assert r.status_code == 200
    labels = re.findall(r'class="row-label"[^>]*>([^<]+)<', r.text)
    assert labels == ["Ruby Marsh", "Iris Marsh"]


def test_rules_page_lists_rules_with_open_flags(signed_in: TestClient, family: Family) -> None:
    words = text_of(signed_in.get("/ui/rules").text)
    assert "Repeatedly not brought" in words and "Fires at 2 appointments within 365 days" in words
    assert "Open flags 1" in words


def test_every_page_view_is_audited(
    signed_in: TestClient, client: TestClient, family: Family, nurse: str
) -> None:
    for path in (
        f"/ui/children/{family.ruby}",
        f"/ui/families/{family.family_id}",
        f"/ui/flags/{family.flag}",
        "/ui/",
    ):
        assert signed_in.get(path).status_code == 200
    mine = [
        e["subtype"][0]["code"]
        for e in audited_for(client, family.ruby)
        if e["agent"][0]["who"]["identifier"]["value"] == nurse
    ]
    assert sorted(mine) == ["read", "read", "read", "search"]


def test_unknown_child_is_a_404_page(signed_in: TestClient, family: Family) -> None:
    r = signed_in.get("/ui/children/nobody-here")
    assert r.status_code == 404
    assert "Page not found" in r.text and "text/html" in r.headers["content-type"]


@pytest.mark.parametrize("path", ["/ui/rules", "/ui/children/x", "/ui/flags/x?a=1"])
def test_without_a_session_pages_send_you_to_sign_in(anonymous: TestClient, path: str) -> None:
    r = anonymous.get(path, follow_redirects=False)
    assert r.status_code == 303
    assert r.headers["location"].startswith("/login?next=")
    assert "reason=sign-in" in r.headers["location"]


def test_an_ended_session_says_so_and_returns_you(
    anonymous: TestClient, nurse: str, family: Family
) -> None:
    anonymous.cookies.set("wnb_session", "expired-or-forged")
    r = anonymous.get(f"/ui/children/{family.ruby}", follow_redirects=False)
    assert r.status_code == 303 and "reason=expired" in r.headers["location"]
    form = anonymous.get(r.headers["location"])
    assert "Your session has ended" in form.text
    assert f'name="next" value="/ui/children/{family.ruby}"' in form.text
    anonymous.cookies.delete("wnb_session")
    from tests.conftest import PASSWORD
    from tests.factories import csrf_of

    back = anonymous.post(
        "/login",
        data={
            "username": nurse,
            "password": PASSWORD,
            "csrf_token": csrf_of(form.text),
            "next": f"/ui/children/{family.ruby}",
        },
        follow_redirects=False,
    )
    assert back.status_code == 303 and back.headers["location"] == f"/ui/children/{family.ruby}"


@pytest.mark.parametrize(
    "target", ["https://evil.example/", "//evil.example/x", "/\\evil", "/\t/evil.example", ""]
)
def test_sign_in_never_redirects_off_site(anonymous: TestClient, nurse: str, target: str) -> None:
    from tests.conftest import PASSWORD
    from tests.factories import csrf_of

    form = anonymous.get("/login", params={"next": target}).text
    r = anonymous.post(
        "/login",
        data={"username": nurse, "password": PASSWORD, "csrf_token": csrf_of(form), "next": target},
        follow_redirects=False,
    )
    assert r.headers["location"] == "/ui/"


@pytest.mark.parametrize("role", ["agency", "source"])
def test_agencies_and_sources_cannot_see_pages(
    anonymous: TestClient,
    client: TestClient,
    role_tokens: dict[str, str],
    role: str,
    family: Family,
) -> None:
    auth = {"Authorization": f"Bearer {role_tokens[role]}"}
    for path in ("/ui/", f"/ui/children/{family.ruby}", f"/ui/flags/{family.flag}"):
        r = anonymous.get(path, headers=auth)
        assert r.status_code == 403, path
        assert "Ruby" not in r.text
    refused = [e for e in audited_for(client, family.ruby) if e["outcome"] == "4"]
    assert refused, "the refusal is in the audit trail"


def test_sign_out_ends_the_session_with_a_message(signed_in: TestClient) -> None:
    from tests.factories import csrf_of

    page = signed_in.get("/ui/rules").text
    r = signed_in.post("/logout", data={"csrf_token": csrf_of(page)})
    assert r.status_code == 200 and "You have signed out" in r.text
    assert signed_in.get("/ui/", follow_redirects=False).status_code == 303


def test_find_a_child_from_the_search_box(signed_in: TestClient, family: Family) -> None:
    assert 'action="/ui/children"' in signed_in.get("/ui/rules").text  # on every page
    r = signed_in.get("/ui/children", params={"q": f"{family.ruby_nhs[:3]} {family.ruby_nhs[3:]}"})
    assert r.status_code == 200
    words = text_of(r.text)
    assert "1 child found" in words and "Ruby Marsh" in words
    assert "Iris Marsh" in words  # her family
    assert f'href="/ui/children/{family.ruby}"' in r.text
    assert f'href="/ui/families/{family.family_id}"' in r.text
    both = text_of(signed_in.get("/ui/children", params={"q": "marsh"}).text)
    assert "2 people found" in both
    empty = signed_in.get("/ui/children")
    assert empty.status_code == 200 and "found" not in text_of(empty.text)


def test_a_search_that_cannot_be_run_says_why_on_the_page(signed_in: TestClient) -> None:
    r = signed_in.get("/ui/children", params={"q": "123 456 7890"})
    assert r.status_code == 400 and "text/html" in r.headers["content-type"]
    assert "Error: 123 456 7890 is not a valid NHS number" in text_of(r.text)


def test_an_unknown_page_is_a_page_not_json(signed_in: TestClient) -> None:
    r = signed_in.get("/ui/no-such-page")
    assert r.status_code == 404 and "text/html" in r.headers["content-type"]
    assert "Page not found" in r.text


def test_rules_page_says_ages_and_counts_in_words(signed_in: TestClient) -> None:
    words = text_of(signed_in.get("/ui/rules").text)
    assert "Age: under 1 year" in words  # not under {'years': 1, 'months': 0, 'days': 0}
    assert "Fires at 1 appointment" in words and "1 appointments" not in words
    assert "{" not in words
