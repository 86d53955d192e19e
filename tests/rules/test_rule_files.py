"""Loading rule files: a bad file fails with one message naming the file, the rule and the field."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from rulekit import ROOT, SHIPPED_RULE_IDS

from app.rules import RuleFileError, load_rules

WriteRules = Callable[..., Path]

GOOD: dict[str, Any] = {
    "id": "repeat-wnb",
    "version": 1,
    "description": "Two missed appointments in a year.",
    "priority": "medium",
    "agencies": ["gp"],
    "scope": "child",
    "categories": ["was-not-brought"],
    "threshold": 2,
    "window_days": 365,
}
MISSING = object()


def rule_text(**changes: Any) -> str:
    rule = {**GOOD, **changes}
    text: str = yaml.safe_dump({"rules": [{k: v for k, v in rule.items() if v is not MISSING}]})
    return text


CATEGORY_CHOICES = (
    "'was-not-brought', 'did-not-attend', 'no-access', 'carer-cancelled', "
    "'provider-cancelled', 'cancelled-unknown', 'attended' or 'booked'"
)
SLUG = "String should match pattern '^[a-z0-9]+(-[a-z0-9]+)*$'"
EMPTY_LIST = "List should have at least 1 item after validation, not 0"
SUMMARY_NAMES = "{children}, {events}, {follow_up_days}, {services}, {threshold}, {window_days}"


def refusal(write_rules: WriteRules, changes: dict[str, Any]) -> tuple[Path, str]:
    """The file of the shipped repeat-wnb rule with `changes`, and the loader's message."""
    path = write_rules(rule_text(**changes))
    with pytest.raises(RuleFileError) as caught:
        load_rules(path)
    return path, str(caught.value)


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"window_days": 0}, "window_days", "Input should be greater than 0"),
        ({"window_days": MISSING}, "window_days", "is required when threshold is more than 1"),
        ({"threshold": 0}, "threshold", "Input should be greater than 0"),
        (
            {"version": "one"},
            "version",
            "Input should be a valid integer, unable to parse string as an integer",
        ),
        ({"description": MISSING}, "description", "Field required"),
        ({"treshold": 3}, "treshold", "Extra inputs are not permitted"),
        ({"priority": "urgent"}, "priority", "Input should be 'high', 'medium' or 'low'"),
        ({"scope": "household"}, "scope", "Input should be 'child' or 'family'"),
        ({"agencies": []}, "agencies", EMPTY_LIST),
        ({"agencies": ["GP Practice"]}, "agencies.0", SLUG),
        (
            {"categories": ["was-not-brought", "dna"]},
            "categories.1",
            f"Input should be {CATEGORY_CHOICES}",
        ),
        ({"categories": ["no-access", "no-access"]}, "categories", "lists the same value twice"),
        (
            {"statuses": ["on-a-plan"]},
            "statuses.0",
            "Input should be 'cp-plan', 'looked-after' or 'child-in-need'",
        ),
        (
            {"age": {"min_days": 10, "max_days": 5}},
            "age",
            "min_days (10) is more than max_days (5)",
        ),
        (
            {"age": {}},
            "age",
            "give at least one of under, at_least, min_days, max_days, min_years, max_years",
        ),
        ({"age": {"max_months": 5}}, "age.max_months", "Extra inputs are not permitted"),
        ({"age": {"max_days": -1}}, "age.max_days", "Input should be greater than or equal to 0"),
        ({"count": "children"}, "count", "counting children needs scope: family"),
        ({"scope": "family", "consecutive": True}, "consecutive", "only applies to scope: child"),
        (
            {"consecutive": True, "categories": ["attended"]},
            "consecutive",
            "attended ends a run, so it cannot be counted",
        ),
        (
            {"summary": "{events.__class__}"},
            "summary",
            f"unknown placeholder {{events.__class__}}; use {SUMMARY_NAMES}",
        ),
        (
            {"summary": "{events"},
            "summary",
            "is not a valid template (expected '}' before end of string)",
        ),
        (
            {"no_follow_up": {"within_days": 0}},
            "no_follow_up.within_days",
            "Input should be greater than 0",
        ),
        (
            {"no_follow_up": {"within_days": 14, "categories": []}},
            "no_follow_up.categories",
            EMPTY_LIST,
        ),
    ],
)
def test_bad_rule_names_file_rule_and_field(
    write_rules: WriteRules, changes: dict[str, Any], field: str, message: str
) -> None:
    path, refused = refusal(write_rules, changes)
    assert refused == f"{path}: rule repeat-wnb: field {field}: {message}"


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"id": "Repeat WNB"}, f"rule Repeat WNB: field id: {SLUG}"),
        ({"id": MISSING}, "rule #1: field id: Field required"),
    ],
)
def test_bad_id_is_named_as_written_or_by_position(
    write_rules: WriteRules, changes: dict[str, Any], message: str
) -> None:
    path, refused = refusal(write_rules, changes)
    assert refused == f"{path}: {message}"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("rules: [\n", "not valid YAML"),
        ("", "field (top level): Input should be a valid dictionary or instance of RuleFile"),
        ("rules: []\n", "field rules: List should have at least 1 item after validation, not 0"),
        ("rule: []\n", "field rules: Field required"),
        ("rules: [3]\n", "field rules.0: Input should be a valid dictionary"),
    ],
)
def test_bad_file_names_file_and_field(write_rules: WriteRules, text: str, message: str) -> None:
    path = write_rules(text)
    with pytest.raises(RuleFileError) as caught:
        load_rules(path)
    assert str(caught.value).startswith(f"{path}: {message}")


def test_error_names_the_failing_rule_not_the_first(write_rules: WriteRules) -> None:
    good = {**GOOD, "id": "fine"}
    bad = {**GOOD, "id": "broken", "window_days": -5}
    path = write_rules(yaml.safe_dump({"rules": [good, bad]}))
    with pytest.raises(RuleFileError, match=r": rule broken: field window_days: "):
        load_rules(path)


def test_duplicate_id_across_files(write_rules: WriteRules) -> None:
    first = write_rules(rule_text(), name="a.yaml")
    second = write_rules(rule_text(), name="b.yaml")
    with pytest.raises(RuleFileError) as caught:
        load_rules(first.parent)
    assert str(caught.value) == f"{second}: rule repeat-wnb: field id: already defined in {first}"


def test_folder_skips_terminology_and_needs_a_rule_file(write_rules: WriteRules) -> None:
    folder = write_rules("not: a rule file\n", name="terminology.yaml").parent
    with pytest.raises(RuleFileError, match="no rule files"):
        load_rules(folder)
    write_rules(rule_text(), name="local.yaml")
    assert [rule.id for rule in load_rules(folder).rules] == ["repeat-wnb"]


def test_missing_path(tmp_path: Path) -> None:
    with pytest.raises(RuleFileError, match="no such file or folder"):
        load_rules(tmp_path / "nope.yaml")


def test_shipped_rules_load_with_fixed_ids() -> None:
    rules = load_rules(ROOT / "rules" / "default.yaml")
    assert [rule.id for rule in rules.rules] == list(SHIPPED_RULE_IDS)
    assert rules.lookback_days() == 366
    # Version 2: calendar days, service keys and one event per miss changed their meaning.
    assert [rule.version for rule in rules.rules] == [1, 2, 2, 2, 2, 2, 2]
    assert all(rule.enabled for rule in rules.rules)
    assert rules.same_miss == timedelta(minutes=60)


def test_disabled_rule_is_validated_but_never_evaluated(write_rules: WriteRules) -> None:
    rules = load_rules(write_rules(rule_text(enabled=False)))
    assert [rule.id for rule in rules.rules] == ["repeat-wnb"]
    assert rules.plans == []
    assert rules.lookback_days() == 0
