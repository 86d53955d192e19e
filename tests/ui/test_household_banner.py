"""The status banner names the people around a child (issue 19 item 4): the carers with their
contact as sent, the other adults of the household (a brother's father, an adult in the
household Group), and who was expected to bring the child to the latest missed appointment."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.api.nurse_helpers import audited_for, carer
from tests.factories import appointment, child, created_id, nhs_number, post
from tests.ui.conftest import Family
from tests.ui.test_print_and_status import banner_of


def reeds(client: TestClient) -> tuple[str, str, str]:
    """Ava and her brother Sam: their mother Jo (a phone and an address sent with Ava's
    record) and Sam's father Lee. Returns Ava's id and Jo's and Lee's RelatedPersons."""
    mother, father = nhs_number(), nhs_number()
    ava = child(client, "2021-04-02", "Ava", "Reed")
    sam = child(client, "2023-01-10", "Sam", "Reed")
    mum = carer(
        client,
        ava,
        mother,
        name=[{"given": ["Jo"], "family": "Reed"}],
        telecom=[{"system": "phone", "value": "07700 900123", "use": "mobile"}],
        address=[{"line": ["1 Mill Lane"], "city": "Leeds", "postalCode": "LS1 1AA"}],
    )
    carer(client, sam, mother, name=[{"given": ["Jo"], "family": "Reed"}])
    dad = carer(client, sam, father, "FTH", name=[{"given": ["Lee"], "family": "Cole"}])
    return ava, mum, dad


def test_the_banner_names_other_adults_with_their_contact_and_who_was_to_bring_the_child(
    signed_in: TestClient, client: TestClient
) -> None:
    ava, mum, dad = reeds(client)
    body = appointment(f"Patient/{ava}", "noshow", "2026-05-12T09:00:00Z", "ava-1")
    body["participant"].append(
        {"actor": {"reference": f"RelatedPerson/{mum}"}, "status": "accepted"}
    )
    created_id(post(client, "Appointment", body))
    words = banner_of(signed_in.get(f"/ui/children/{ava}").text)
    assert "Carers: Jo Reed (Mother), 07700 900123 (mobile), 1 Mill Lane, Leeds, LS1 1AA" in words
    assert "Other adults: Lee Cole (Father)" in words  # her brother's father is in the picture
    assert (
        "Expected to be brought to the missed appointment on 12 May 2026 by Jo Reed (Mother)"
        in words
    )
    # The page read the father's record: the audit says so.
    assert any(f"RelatedPerson/{dad}" in str(e.get("entity")) for e in audited_for(client, ava))


def test_without_other_adults_or_a_carer_participant_the_banner_says_so(
    signed_in: TestClient, client: TestClient
) -> None:
    kit = child(client, "2021-04-02", "Kit", "Moss")
    created_id(post(client, "Appointment", appointment(f"Patient/{kit}", "noshow", ident="kit-1")))
    words = banner_of(signed_in.get(f"/ui/children/{kit}").text)
    assert "Other adults: none recorded" in words
    assert "Expected to be brought" not in words


def test_the_concern_page_carries_its_childs_banner(signed_in: TestClient, family: Family) -> None:
    words = banner_of(signed_in.get(f"/ui/flags/{family.flag}").text)
    assert "Child protection plan since 1 March 2026" in words
    assert "Carers:" in words and "Other adults: none recorded" in words
    assert "GP practice: not recorded" in words
