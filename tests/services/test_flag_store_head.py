"""The next version of a concern's Flag reads the stored one's searched elements alone
(`flag_store._stored_searched`): what it reads is exactly what the whole stored JSON holds
for them, whatever the reasons and summaries say, and a version stored in another order is
parsed whole."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
from hypothesis import given, settings
from hypothesis import strategies as st

from app.fhir.index import searched_elements
from app.fhir.raised_flag import Reason, raised_flag
from app.services.common.writes import WriteContext
from app.services.concerns.flag_store import _content, _stored_searched

AT = datetime(2026, 6, 1, 9, 0, tzinfo=UTC)
# Text that looks like the cut, or like JSON, inside the strings a Flag carries.
TRICKY = st.sampled_from(
    ['","extension":[', ',"extension":[{"url":"x"}]}', '{"status":"inactive"}', '\\"', "}]"]
)
words = st.lists(st.text(max_size=8) | TRICKY, max_size=3).map("".join)
ids = st.text(alphabet="abcdef0123456789-", min_size=1, max_size=12)


@st.composite
def flags(draw: st.DrawFn) -> dict[str, Any]:
    reasons = [
        Reason(
            rule=draw(ids),
            version=draw(st.integers(1, 9)),
            priority=draw(st.sampled_from(["routine", "urgent"])),
            summary=draw(words),
            agencies=draw(st.lists(st.sampled_from(["gp", "social-care"]), max_size=2)),
            events=[f"Appointment/{e}" for e in draw(st.lists(ids, max_size=4))],
            children=draw(st.lists(ids, max_size=2)),
            title=draw(words),
        )
        for _ in range(draw(st.integers(0, 3)))
    ]
    closed = draw(st.booleans())
    return raised_flag(
        canonical="https://wnb.example/fhir",
        rule_system="https://wnb.example/fhir/CodeSystem/wnb-rule",
        flag_id=draw(ids),
        summary=draw(words),
        priority="urgent",
        child_id=draw(ids),
        opened_at=AT,
        closed_at=AT + timedelta(days=3) if closed else None,
        events=[f"Appointment/{e}" for e in draw(st.lists(ids, max_size=4))],
        family=draw(st.lists(ids, max_size=2)),
        agencies=["gp"],
        reasons=reasons,
    )


def _ctx() -> WriteContext:
    return WriteContext(terms=None, now=AT)  # type: ignore[arg-type]


@settings(max_examples=300, deadline=None)
@given(flag=flags())
def test_the_elements_read_are_those_the_whole_flag_holds(flag: dict[str, Any]) -> None:
    content = _content(flag, flag["id"], 2, _ctx())
    whole = orjson.loads(content)
    head = _stored_searched(content)
    assert searched_elements("Flag") <= head.keys()
    assert {k: whole[k] for k in head} == head
    assert "extension" not in head  # read without them: the point of it


def test_a_flag_stored_with_its_extensions_first_is_parsed_whole() -> None:
    flag = raised_flag(
        canonical="https://wnb.example/fhir",
        rule_system="https://wnb.example/fhir/CodeSystem/wnb-rule",
        flag_id="f1",
        summary="two misses",
        priority="urgent",
        child_id="c1",
        opened_at=AT,
        closed_at=None,
        events=["Appointment/a1"],
        family=[],
        agencies=["gp"],
        reasons=[],
    )
    # The order versions were stored in before: extensions after meta, the rest after them.
    content = orjson.dumps({"resourceType": "Flag", "id": "f1", "meta": {}, **flag}).decode()
    assert content.index('"extension"') < content.index('"status"')
    assert _stored_searched(content) == orjson.loads(content)


def test_a_cut_inside_a_nested_element_is_parsed_whole() -> None:
    """An element before the extensions that has extensions of its own: the first match is
    inside it, the text before it does not parse, and the whole is read."""
    content = orjson.dumps(
        {
            "resourceType": "Flag",
            "id": "f1",
            "status": "active",
            "period": {"start": "2026-06-01", "extension": [{"url": "u"}]},
            "identifier": [{"system": "s", "value": "f1"}],
            "category": [],
            "code": {},
            "subject": {"reference": "Patient/c1"},
            "extension": [{"url": "v"}],
        }
    ).decode()
    assert _stored_searched(content) == orjson.loads(content)
