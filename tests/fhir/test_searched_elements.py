"""`searched_elements`: a resource's search values are drawn from those elements alone, so a
new version equal in them has the same values (what lets a Flag's next version skip writing
them: `flag_store.store_flags`)."""

from __future__ import annotations

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
