"""Family links follow time: a carer's or a household membership's period starts and ends by
itself (a durable mark the worker acts on), a Group that is not an actual household links no
one, and the backtest sees the same families as live reconciliation."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select

from app.runtime import AppState
from app.store import family_repo
from app.store.reconcile_models import LinkDue
from tests.conftest import FIXED_NOW
from tests.factories import child, missed, nhs_number, post, related_person
from tests.services.test_merge_undone import backtest_pairs, live_pairs
from tests.services.test_rules_at_ingest import flags
from tests.services.test_time_based_rules import due_checks_at


def household(periods: dict[str, dict[str, str]], actual: bool = True) -> dict[str, Any]:
    return {
        "resourceType": "Group",
        "type": "person",
        "actual": actual,
        "member": [
            {"entity": {"reference": f"Patient/{m}"}, **({"period": p} if p else {})}
            for m, p in periods.items()
        ],
    }


def one_family(state: AppState, *pids: str) -> bool:
    families = state.read(lambda s: family_repo.families_of(s, pids))
    return len(set(families.values())) == 1


def marks(state: AppState) -> dict[str, str]:
    with state.reader() as s:
        return {m.source: m.due_at.isoformat() for m in s.scalars(select(LinkDue))}


def siblings_missing(client: TestClient) -> tuple[str, str]:
    a, b = child(client), child(client)
    missed(client, a, "2026-06-05")
    missed(client, b, "2026-06-07", service="gp")
    return a, b


def test_a_membership_that_ends_unlinks_when_it_ends(client: TestClient, state: AppState) -> None:
    a, b = siblings_missing(client)
    group = post(client, "Group", household({a: {}, b: {"end": "2026-06-20"}})).json()["id"]
    assert one_family(state, a, b) and "family-wnb" in flags(client, a)
    # The end of 20 June (UTC, as FHIR reads a date with no zone): a durable mark.
    assert marks(state) == {f"Group/{group}": "2026-06-21T00:00:00+00:00"}
    due_checks_at(state, 5)  # 20 June: still one household
    assert one_family(state, a, b)
    due_checks_at(state, 6)  # 21 June: the membership has ended
    assert not one_family(state, a, b)
    # Two households now, each with one child's miss: family-wnb no longer holds (withdrawn,
    # as when the Group is sent again without the child).
    assert "family-wnb" not in flags(client, a) | flags(client, b)
    assert marks(state) == {}


def test_a_membership_that_starts_next_month_links_no_one_until_then(
    client: TestClient, state: AppState
) -> None:
    a, b = siblings_missing(client)
    post(client, "Group", household({a: {}, b: {"start": "2026-07-01"}}))
    assert not one_family(state, a, b)
    assert "family-wnb" not in flags(client, a)
    due_checks_at(state, 15)  # 30 June
    assert not one_family(state, a, b)
    due_checks_at(state, 16)  # 1 July
    assert one_family(state, a, b)
    assert "family-wnb" in flags(client, a) and "family-wnb" in flags(client, b)
    assert backtest_pairs(state, FIXED_NOW + timedelta(days=16)) == live_pairs(client, a, b)


def test_a_carer_whose_period_ends_links_no_one_after_it(
    client: TestClient, state: AppState
) -> None:
    a, b = siblings_missing(client)
    carer = nhs_number()
    post(client, "RelatedPerson", related_person(f"Patient/{a}", carer))
    ending = {**related_person(f"Patient/{b}", carer), "period": {"end": "2026-06-30"}}
    post(client, "RelatedPerson", ending)
    assert one_family(state, a, b)
    due_checks_at(state, 16)
    assert not one_family(state, a, b)
    # A new fact for one of them changes nothing: the link stays ended.
    missed(client, a, "2026-06-14", service="gp")
    assert not one_family(state, a, b)


def test_a_group_that_is_not_an_actual_household_links_no_one(
    client: TestClient, state: AppState
) -> None:
    a, b = siblings_missing(client)
    post(client, "Group", household({a: {}, b: {}}, actual=False))
    assert not one_family(state, a, b)
    assert "family-wnb" not in flags(client, a)


def test_an_identifier_listed_as_shared_later_unlinks_its_families(
    client: TestClient, state: AppState
) -> None:
    from app.fhir.terminology import CarerIdentifier

    shared = nhs_number()
    kids = [child(client) for _ in range(3)]
    for n, pid in enumerate(kids):
        missed(client, pid, f"2026-06-0{n + 5}", service=f"s{n}")
        post(client, "RelatedPerson", related_person(f"Patient/{pid}", shared))
    assert one_family(state, *kids) and "family-wnb" in flags(client, kids[0])
    due_checks_at(state, 0)  # the links as the terminology stands are applied
    saved = list(state.terms.never_link_carers)
    state.terms.never_link_carers.append(
        CarerIdentifier(system="https://fhir.nhs.uk/Id/nhs-number", value=shared)
    )
    try:
        due_checks_at(state, 0)  # the worker sees the list changed: every carer linked again
        assert len({*state.read(lambda s: family_repo.families_of(s, kids)).values()}) == 3
        for pid in kids:
            assert "family-wnb" not in flags(client, pid)
    finally:
        state.terms.never_link_carers[:] = saved
    due_checks_at(state, 0)  # listed no more: the family links again
    assert one_family(state, *kids) and "family-wnb" in flags(client, kids[0])
