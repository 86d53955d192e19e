"""`values_at` gives exactly the values `walk` gives, in its order, for any JSON and path:
search values, service keys and coding are drawn through it."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from app.fhir.walk import values_at, walk

KEYS = ("a", "b", "coding", "code")
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=3),
    lambda inner: st.lists(inner, max_size=3)
    | st.dictionaries(st.sampled_from(KEYS), inner, max_size=3),
    max_leaves=20,
)
paths = st.lists(
    st.tuples(st.sampled_from(KEYS), st.booleans()), min_size=0, max_size=4
).map(lambda steps: ".".join(f"{k}[]" if many else k for k, many in steps))


@settings(max_examples=400, deadline=None)
@given(data=json_values, path=paths)
def test_values_at_is_walk_without_paths(data: Any, path: str) -> None:
    assert values_at(data, path) == [value for value, _ in walk(data, path, "X")]


def test_a_list_step_fans_out_and_a_plain_step_keeps_the_list() -> None:
    data = {"a": [{"b": 1}, {"b": [2, 3]}, {"c": 4}], "b": [5]}
    assert values_at(data, "a[].b") == [1, [2, 3]]
    assert values_at(data, "a[].b[]") == [1, 2, 3]
    assert values_at(data, "b") == [[5]]
    assert values_at(data, "a[].c.d") == []
    assert values_at(data, "") == [data]
