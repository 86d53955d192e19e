"""`searched_elements`: a resource's search values are drawn from those elements alone, so a
new version equal in them has the same values (what lets a Flag's next version skip writing
them: `flag_store.store_flags`)."""

from __future__ import annotations

from collections import Counter
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from app.fhir.index import index_values, searched_elements

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=10,
)

SAMPLES: dict[str, dict[str, Any]] = {
    "Flag": {
        "resourceType": "Flag",
        "status": "active",
        "subject": {"reference": "Patient/p1"},
        "code": {"coding": [{"system": "https://wnb.dev/c", "code": "x"}], "text": "A"},
        "category": [{"coding": [{"system": "https://wnb.dev/cat", "code": "safety"}]}],
        "period": {"start": "2026-06-10T09:00:00Z"},
        "identifier": [{"system": "https://wnb.dev/Id/raised-flag", "value": "f1"}],
        "extension": [{"url": "https://wnb.dev/e", "valueString": "evidence"}],
    },
    "Appointment": {
        "resourceType": "Appointment",
        "status": "noshow",
        "start": "2026-06-10T09:00:00Z",
        "participant": [{"actor": {"reference": "Patient/p1"}}],
        "serviceType": [{"coding": [{"system": "https://example.org/s", "code": "dental"}]}],
    },
}


def test_a_flag_is_searched_by_these_elements() -> None:
    assert searched_elements("Flag") == {
        "resourceType",
        "subject",
        "status",
        "code",
        "category",
        "period",
        "identifier",
    }


@given(
    type_name=st.sampled_from(sorted(SAMPLES)),
    changes=st.dictionaries(st.text(min_size=1, max_size=12), JSON, max_size=4),
)
def test_elements_not_searched_never_change_the_search_values(
    type_name: str, changes: dict[str, Any]
) -> None:
    data = SAMPLES[type_name]
    kept = searched_elements(type_name)
    other = {**data, **{k: v for k, v in changes.items() if k not in kept}}
    assert index_values(other) == index_values(data)


@given(
    type_name=st.sampled_from(sorted(SAMPLES)),
    changes=st.dictionaries(st.sampled_from(["status", "code", "period", "start"]), JSON),
)
def test_the_values_of_some_elements_are_those_drawn_from_them(
    type_name: str, changes: dict[str, Any]
) -> None:
    """`index_values(data, elements)` is the part of all the values drawn from `elements`:
    two versions differing in those elements only differ in that part (what lets a Flag's
    next version compare the values of its changed elements alone)."""
    data = SAMPLES[type_name]
    other = {**data, **changes}
    differ = {k for k in searched_elements(type_name) if data.get(k) != other.get(k)}
    for version in (data, other):
        some = index_values(version, differ)
        rest = index_values(version, searched_elements(type_name) - differ)
        assert Counter(some) + Counter(rest) == Counter(index_values(version))
    assert index_values(data, searched_elements(type_name) - differ) == index_values(
        other, searched_elements(type_name) - differ
    )
