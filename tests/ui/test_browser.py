"""The nurse's pages in a real browser against a real uvicorn: the whole journey, the
accessibility rules axe-core checks, keyboard use, JavaScript off, and an ended session."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Browser, Page, expect
from pypdf import PdfReader

from app.runtime import AppState
from tests.conftest import FIXED_NOW, PASSWORD
from tests.live_server import serve
from tests.ui.browser import chromium, shoot, sign_in
from tests.ui.conftest import Family

pytestmark = pytest.mark.own_connections("a browser against a real server")

# axe-core's own levels: these two are what WCAG 2.2 AA failures look like.
BLOCKING = {"serious", "critical"}


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with chromium() as b:
        yield b


@pytest.fixture
def site(state: AppState) -> Iterator[str]:
    with serve(state) as url:
        yield url


@pytest.fixture
def page(browser: Browser, site: str) -> Iterator[Page]:
    """A fresh tab, closed before the server stops (`site`), so no request is cut short."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    tab = context.new_page()
    problems: list[str] = []
    tab.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    tab.on("pageerror", lambda e: problems.append(str(e)))
    yield tab
    context.close()
    assert problems == [], "the browser reported errors (a CSP refusal, a script failing)"


@contextmanager
def tab_at(browser: Browser, width: int) -> Iterator[tuple[Page, list[str]]]:
    """A tab of `width` pixels (390: a phone) and the errors its console reports."""
    context = browser.new_context(viewport={"width": width, "height": 900})
    tab = context.new_page()
    problems: list[str] = []
    tab.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    try:
        yield tab, problems
    finally:
        context.close()


def accessible(page: Page) -> None:
    results = Axe().run(page)
    blocking = [
        f"{v['id']}: {v['help']} ({len(v['nodes'])} elements)"
        for v in results.response["violations"]
        if v.get("impact") in BLOCKING
    ]
    assert blocking == [], f"{page.url}: " + "; ".join(blocking)


def test_a_nurse_reviews_a_flag_from_the_worklist(
    page: Page, site: str, family: Family, nurse: str
) -> None:
    page.goto(f"{site}/ui/")
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    accessible(page)
    shoot(page, "sign-in")
    sign_in(page, nurse, PASSWORD)

    expect(page.get_by_role("heading", name="Worklist")).to_be_visible()
    accessible(page)
    shoot(page, "worklist")
    row = page.locator("#worklist tr", has_text="Repeatedly not brought").filter(
        has_text="Ruby Marsh"
    )
    expect(row).to_contain_text(f"{family.ruby_nhs[:3]} {family.ruby_nhs[3:6]} ")
    row.get_by_role("link", name="Ruby Marsh").click()

    expect(page.get_by_role("heading", name="Ruby Marsh", level=1)).to_be_visible()
    expect(page.get_by_role("img", name="Timeline of appointments by service")).to_be_visible()
    expect(page.locator("#child-timeline figcaption")).to_contain_text("Not brought")
    accessible(page)
    shoot(page, "child")

    page.get_by_role("link", name="See the whole family's timeline").click()
    expect(page.get_by_role("heading", name="Family timeline")).to_be_visible()
    expect(page.locator("#family-timeline .row-label")).to_have_text(["Ruby Marsh", "Iris Marsh"])
    accessible(page)
    shoot(page, "family")

    page.goto(f"{site}/ui/flags/{family.flag}")
    expect(page.get_by_role("heading", name="Was not brought concern")).to_be_visible()
    expect(page.locator(".wnb-reasons")).to_contain_text("Repeatedly not brought")
    accessible(page)
    page.get_by_label("Record an outcome").check()
    page.get_by_label("Outcome", exact=True).select_option("discussed-with-health-visitor")
    page.get_by_label("Note", exact=True).fill("Health visitor will call the mother this week.")
    page.get_by_role("button", name="Save review").click()

    expect(page.locator("#review-done")).to_contain_text("Saved")
    history = page.locator("#review-history")
    expect(history).to_contain_text("Recorded an outcome")
    expect(history).to_contain_text("Health visitor will call the mother this week.")
    expect(page.locator("#flag-state")).to_contain_text("Acknowledged")
    shoot(page, "flag")

    page.get_by_role("link", name="Rules").click()
    expect(page.get_by_role("heading", name="Rules in force")).to_be_visible()
    accessible(page)
    shoot(page, "rules")

    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_text("You have signed out.")).to_be_visible()


def test_a_nurse_reviews_two_children_from_the_family_page(
    browser: Browser, site: str, family: Family, nurse: str
) -> None:
    with tab_at(browser, 1280) as (page, problems):
        _review_two_children(page, site, family, nurse)
    # A form sent back with its mistakes is a 422, which the console reports; nothing else.
    assert [p for p in problems if "422" not in p] == []


def _review_two_children(page: Page, site: str, family: Family, nurse: str) -> None:
    page.goto(f"{site}/ui/families/{family.family_id}")
    sign_in(page, nurse, PASSWORD)
    form = page.locator("#family-review-form")
    expect(form.get_by_role("checkbox")).to_have_count(2)
    expect(form.locator("input:checked")).to_have_count(0)
    accessible(page)

    form.get_by_role("button", name="Save review").click()
    summary = page.locator(".nhsuk-error-summary")
    expect(summary).to_contain_text("Choose whose concern to review.")
    expect(page).to_have_title(re.compile("^Error: "))
    accessible(page)
    summary.get_by_role("link", name="Choose what you want to do with the concerns.").click()
    expect(page.locator("#review-action-acknowledge")).to_be_focused()

    page.get_by_label("Ruby Marsh").check()
    page.get_by_label("Iris Marsh").check()
    page.get_by_label("Record an outcome").check()
    page.locator("#review-outcome").select_option("discussed-with-health-visitor")
    page.locator("#review-note").fill("Health visitor will see both girls this week.")
    page.get_by_role("button", name="Save review").click()

    expect(page.locator("#family-review-done")).to_contain_text("Saved: recorded an outcome")
    expect(page.locator("#family-review-form input:checked")).to_have_count(0)
    accessible(page)
    shoot(page, "family-review")
    for child in ("Ruby Marsh", "Iris Marsh"):
        box = page.locator("#family-review-form .nhsuk-checkboxes__item", has_text=child)
        expect(box).to_contain_text("acknowledged")


def test_keyboard_only(page: Page, site: str, family: Family, nurse: str) -> None:
    page.goto(f"{site}/login")
    page.keyboard.press("Tab")
    expect(page.locator(":focus")).to_have_text("Skip to main content")
    page.get_by_label("Username").focus()
    page.keyboard.type(nurse)
    page.keyboard.press("Tab")
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Worklist")).to_be_visible()
    # Tab through to Ruby's first link and follow it with Enter.
    for _ in range(60):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.textContent.trim()") == "Ruby Marsh":
            break
    else:
        pytest.fail("no link to the child is reachable with the keyboard")
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Ruby Marsh", level=1)).to_be_visible()


def test_works_with_javascript_off(browser: Browser, site: str, family: Family, nurse: str) -> None:
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    try:
        page.goto(f"{site}/ui/flags/{family.flag}")
        sign_in(page, nurse, PASSWORD)
        expect(page.get_by_role("heading", name="Was not brought concern")).to_be_visible()
        page.get_by_label("Acknowledge").check()
        page.get_by_role("button", name="Save review").click()
        expect(page.locator("#review-history")).to_contain_text("Acknowledged")
        page.goto(f"{site}/ui/children/{family.ruby}")
        expect(page.get_by_role("img", name="Timeline of appointments by service")).to_be_visible()
        expect(page.locator("#child-chronology")).to_contain_text("Not brought")
    finally:
        context.close()


def test_an_ended_session_brings_the_nurse_back(
    page: Page, site: str, state: AppState, family: Family, nurse: str
) -> None:
    page.goto(f"{site}/ui/")
    sign_in(page, nurse, PASSWORD)
    expect(page.get_by_role("heading", name="Worklist")).to_be_visible()
    state.clock = lambda: FIXED_NOW + timedelta(hours=9)  # past the 8-hour session
    page.goto(f"{site}/ui/children/{family.ruby}")
    expect(page.get_by_text("Your session has ended")).to_be_visible()
    sign_in(page, nurse, PASSWORD)
    expect(page.get_by_role("heading", name="Ruby Marsh", level=1)).to_be_visible()
    assert page.url == f"{site}/ui/children/{family.ruby}"


@pytest.mark.parametrize("width", [1280, 390])
def test_find_a_child_from_any_page(
    browser: Browser, site: str, family: Family, nurse: str, width: int
) -> None:
    with tab_at(browser, width) as (page, problems):
        page.goto(f"{site}/ui/rules")
        sign_in(page, nurse, PASSWORD)
        box = page.get_by_label("Find a child by NHS number, name or date of birth")
        box.fill("Marsh 02/04/2019")
        box.press("Enter")
        expect(page.get_by_role("heading", name="Find a child", level=1)).to_be_visible()
        results = page.locator("#search-results")
        expect(results).to_contain_text("Ruby Marsh")
        expect(results).to_contain_text("Iris Marsh")  # her family
        accessible(page)
        shoot(page, f"search-{width}")
        page.locator("#find-q").fill("123 456 7890")
        page.locator("#find-q").press("Enter")
        expect(page.locator("#find-q-error")).to_contain_text("not a valid NHS number")
        accessible(page)
    # The refused NHS number answers 400 on purpose; anything else the console reports is a fault.
    assert [p for p in problems if "status of 400" not in p] == []


@pytest.mark.parametrize("width", [1280, 390])
def test_a_nurse_takes_a_case_and_finds_it_in_her_caseload(
    browser: Browser, site: str, family: Family, nurse: str, width: int
) -> None:
    with tab_at(browser, width) as (page, problems):
        page.goto(f"{site}/ui/children/{family.ruby}")
        sign_in(page, nurse, PASSWORD)
        expect(page.locator("#case-owner")).to_contain_text("Nobody")
        accessible(page)
        page.get_by_label("Give the case to").select_option("me")
        page.get_by_label("Next review date (optional)").fill("2026-06-10")
        page.get_by_role("button", name="Save owner").click()
        expect(page.locator("#case-owner")).to_contain_text("Review overdue")
        page.goto(f"{site}/ui/caseload")
        expect(page.get_by_role("heading", name="My caseload", level=1)).to_be_visible()
        expect(page.locator("#caseload")).to_contain_text("Ruby Marsh")
        accessible(page)
        shoot(page, f"caseload-{width}")
        page.goto(f"{site}/ui/families/{family.family_id}")
        accessible(page)
        page.goto(f"{site}/ui/?owner=me")
        expect(page.locator("#worklist")).to_contain_text("Ruby Marsh")
        accessible(page)
        shoot(page, f"worklist-{width}")
        # The filters fold away above the results on a phone, open on a desktop.
        assert page.locator("#worklist-filters").evaluate("d => d.open") == (width > 390)
        # On a phone the rows stack: no column is hidden behind a sideways scroll.
        fits = "t => t.scrollWidth <= t.parentElement.clientWidth + 1"
        assert width > 390 or page.locator("#worklist").evaluate(fits)
    assert problems == []


def test_a_printed_chronology_is_marked_numbered_and_free_of_link_urls(
    browser: Browser, site: str, family: Family, nurse: str, tmp_path: Path
) -> None:
    with tab_at(browser, 1280) as (page, problems):
        page.goto(f"{site}/ui/children/{family.ruby}/print")
        sign_in(page, nurse, PASSWORD)
        expect(page.locator("#print-now")).to_be_visible()  # JavaScript on: one click prints
        accessible(page)
        pdf = tmp_path / "chronology.pdf"
        page.pdf(path=str(pdf), format="A4", display_header_footer=False)
    assert problems == []
    pages = [p.extract_text() for p in PdfReader(pdf).pages]
    words = " ".join(pages)
    nhs = family.ruby_nhs
    assert f"{nhs[:3]} {nhs[3:6]} {nhs[6:]}" in words and "Ruby Marsh" in words
    assert all(f"Printed by {nurse}" in p for p in pages)  # on every page
    assert all("OFFICIAL-SENSITIVE" in p for p in pages)
    assert "Page 1 of" in pages[0]
    assert "(Link:" not in words and "/ui/" not in words and "Save owner" not in words
