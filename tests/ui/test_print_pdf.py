"""The chronology as a PDF made on the server (WeasyPrint): every page carries the marking,
who printed it and when, and its page number; the NHS numbers and names are in it, link
URLs and forms are not; it is audited as a disclosure naming the children."""

from __future__ import annotations

import io

from fastapi.testclient import TestClient
from pypdf import PdfReader

from tests.api.nurse_helpers import audited_for
from tests.ui.conftest import Family


def _pages(signed_in: TestClient, path: str) -> list[str]:
    r = signed_in.get(path)
    assert r.status_code == 200, r.text[:300]
    assert r.headers["content-type"] == "application/pdf"
    assert r.headers["cache-control"] == "no-store"
    assert r.content.startswith(b"%PDF-")
    return [p.extract_text() for p in PdfReader(io.BytesIO(r.content)).pages]


def test_a_childs_chronology_as_a_pdf_is_marked_on_every_page(
    signed_in: TestClient, family: Family, client: TestClient, nurse: str
) -> None:
    pages = _pages(signed_in, f"/ui/children/{family.ruby}/print.pdf")
    words = " ".join(" ".join(p.split()) for p in pages)
    nhs = family.ruby_nhs
    assert f"{nhs[:3]} {nhs[3:6]} {nhs[6:]}" in words and "Ruby Marsh" in words
    assert all("OFFICIAL-SENSITIVE" in p for p in pages)
    assert all(f"Printed by {nurse}" in " ".join(p.split()) for p in pages)
    assert "Page 1 of" in " ".join(pages[0].split())
    assert "/ui/" not in words and "Save owner" not in words and "(Link:" not in words
    exports = [e for e in audited_for(client, family.ruby) if e["type"]["code"] == "110106"]
    assert exports, "the PDF is a disclosure of the child's record (only the PDF was made here)"


def test_a_familys_chronology_as_a_pdf_names_every_child(
    signed_in: TestClient, family: Family, client: TestClient
) -> None:
    pages = _pages(signed_in, f"/ui/families/{family.family_id}/print.pdf")
    words = " ".join(" ".join(p.split()) for p in pages)
    assert "Ruby Marsh" in words and "Iris Marsh" in words
    assert all("OFFICIAL-SENSITIVE" in p for p in pages)
    assert any(e["type"]["code"] == "110106" for e in audited_for(client, family.iris))


def test_the_pages_link_to_the_pdf_and_an_unknown_child_has_none(
    signed_in: TestClient, family: Family
) -> None:
    html = signed_in.get(f"/ui/children/{family.ruby}").text
    assert f'href="/ui/children/{family.ruby}/print.pdf"' in html
    assert signed_in.get("/ui/children/nobody/print.pdf").status_code == 404
    assert signed_in.get("/ui/families/nobody/print.pdf").status_code == 404
