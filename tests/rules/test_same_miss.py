"""Issue 8 item 4: one miss reported by two systems is one event, naming both reports, at
ingest and in the backtest alike."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from rulekit import ROOT, T0, Kit

from app.rules import EventView, RuleFileError, RuleSet, backtest, load_rules
from app.rules.model import event_order
from app.rules.same_miss import _merge_in_runs, merge_same_misses


def report(
    minutes: float,
    event_id: str,
    *,
    service: str | None = "gp",
    category: str = "was-not-brought",
    child: str = "c1",
    age_days: int = 3000,
    place: str | None = None,
) -> EventView:
    return EventView(
        event_id,
        child,
        T0 + timedelta(minutes=minutes),
        category,
        service_key=service,
        age_days=age_days,
        place=place,
    )


@pytest.mark.parametrize(
    ("second", "repeat_fires"),
    [
        (report(0, "chis"), False),  # the same slot from CHIS
        (report(60, "chis"), False),  # an hour apart: the configured window, inclusive
        (report(61, "chis"), True),  # two appointments
        (report(0, "chis", service="dental"), True),  # another service
        (report(0, "chis", service=None), True),  # unknown service: never merged
        (report(0, "chis", category="no-access"), True),  # a different outcome
        (report(0, "chis", child="c2"), False),  # another child's (repeat is per child)
    ],
)
def test_two_reports_of_one_miss_count_once(
    kit: Kit, second: EventView, repeat_fires: bool
) -> None:
    gp = report(0, "gp", service=second.service_key if second.service_key is None else "gp")
    fired = kit.fired(second, [gp])
    assert ("repeat-wnb" in fired) == repeat_fires


def test_the_event_names_both_reports(kit: Kit) -> None:
    gp, chis = report(0, "gp", age_days=100), report(30, "chis", age_days=100)
    # Whichever report arrives last, the family's facts are the same, and so is the firing.
    firings = [kit.fired(t, [other])["infant-wnb"] for t, other in ((gp, chis), (chis, gp))]
    assert firings[0] == firings[1]
    assert set(firings[0].evidence_event_ids) == {"gp", "chis"}
    assert firings[0].trigger_event_id in {"gp", "chis"}


def test_a_pattern_still_counts_each_miss_once(kit: Kit) -> None:
    first = [report(0, "gp-1"), report(10, "chis-1")]
    second = [report(60 * 24 * 30, "gp-2"), report(60 * 24 * 30 + 5, "chis-2")]
    firing = kit.fired(second[1], [*first, second[0]])["repeat-wnb"]
    assert firing.description == "2 missed appointments within 365 days"
    assert set(firing.evidence_event_ids) == {"gp-1", "chis-1", "gp-2", "chis-2"}


AT_X = "org|x"


@pytest.mark.parametrize(
    ("reports", "repeat_fires"),
    [
        # A CHIS report known only by the practice, and the practice's dental appointment.
        (
            [
                report(0, "chis", service=AT_X, place=AT_X),
                report(20, "gp", service="dental", place=AT_X),
            ],
            False,
        ),
        # ... at another organisation: two misses.
        (
            [
                report(0, "chis", service=AT_X, place=AT_X),
                report(20, "gp", service="dental", place="org|y"),
            ],
            True,
        ),
        # Two named services at one organisation are never one miss, nor folded through a
        # report known only by that organisation.
        (
            [
                report(0, "a", service="dental", place=AT_X),
                report(5, "b", service="gp", place=AT_X),
            ],
            True,
        ),
        (
            [
                report(0, "a", service="dental", place=AT_X),
                report(5, "b", service="gp", place=AT_X),
                report(10, "chis", service=AT_X, place=AT_X),
            ],
            True,
        ),
    ],
)
def test_a_report_known_only_by_its_organisation_is_the_same_miss_there(
    kit: Kit, reports: list[EventView], repeat_fires: bool
) -> None:
    fired = kit.fired(reports[-1], reports[:-1])
    assert ("repeat-wnb" in fired) == repeat_fires


def test_the_backtest_sees_one_event_too(default_rules: RuleSet) -> None:
    events = {"f": [report(0, "gp"), report(20, "chis")]}
    rules = [t.firing.rule_id for t in backtest(default_rules, events, now=T0 + timedelta(days=1))]
    assert "repeat-wnb" not in rules
    twice = {"f": [report(0, "gp"), report(24 * 60, "gp-next-day")]}
    rules = [t.firing.rule_id for t in backtest(default_rules, twice, now=T0 + timedelta(days=2))]
    assert "repeat-wnb" in rules


def test_the_window_is_set_in_the_rule_files(write_rules: Callable[..., Path]) -> None:
    text = (ROOT / "rules" / "default.yaml").read_text()
    narrow = load_rules(write_rules(text.replace("same_miss_minutes: 60", "same_miss_minutes: 5")))
    assert narrow.same_miss == timedelta(minutes=5)
    assert "repeat-wnb" in Kit(narrow).fired(report(10, "chis"), [report(0, "gp")])


SMALL = """same_miss_minutes: 30
rules:
  - id: local-rule
    version: 1
    description: A local rule in a second file.
    priority: low
    agencies: [gp]
    scope: child
    categories: [was-not-brought]
"""


def test_two_files_must_agree_on_the_window(write_rules: Callable[..., Path]) -> None:
    write_rules((ROOT / "rules" / "default.yaml").read_text(), "a.yaml")
    folder = write_rules(SMALL, "b.yaml").parent
    with pytest.raises(
        RuleFileError, match=r"b\.yaml: field same_miss_minutes: 30 differs from 60"
    ):
        load_rules(folder)
    write_rules(SMALL.replace("30", "60"), "b.yaml")
    assert load_rules(folder).same_miss == timedelta(minutes=60)


# Reports close enough to fold and far enough not to, of two children, known and unknown
# services (one known only by its organisation), and repeats of one view: what the fast
# path (`_none_close`) and the sorted dedupe must give exactly as the general path.
_REPORT = st.builds(
    report,
    minutes=st.sampled_from([0, 0, 30, 60, 61, 120, 240, 1440]),
    event_id=st.sampled_from(["a", "b", "c"]),
    service=st.sampled_from([None, "gp", "dental", "org|A81001"]),
    category=st.sampled_from(["was-not-brought", "did-not-attend"]),
    child=st.sampled_from(["c1", "c2"]),
    age_days=st.sampled_from([3000, 3001]),
    place=st.sampled_from([None, "org|A81001"]),
)


@settings(max_examples=400, deadline=None)
@given(reports=st.lists(_REPORT, max_size=9), repeats=st.lists(st.integers(0, 8), max_size=3))
def test_merging_equals_the_general_path(reports: list[EventView], repeats: list[int]) -> None:
    given_views = reports + [reports[i] for i in repeats if i < len(reports)]
    window = timedelta(minutes=60)
    # What `replay_family` did before the fast path: equal views dropped by `dict.fromkeys`,
    # sorted, then every view through the general path.
    expected = _merge_in_runs(sorted(dict.fromkeys(given_views), key=event_order), window)
    merged, sources = merge_same_misses(given_views, window)
    assert sources == expected[1]
    # The same views in the same order, object for object (a joint appointment's views
    # share their sort key, so order among them is part of the result).
    assert [id(e) for e in merged] == [id(e) for e in expected[0]]
