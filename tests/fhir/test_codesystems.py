"""The published code systems are valid FHIR R4 CodeSystems holding exactly the codes the
service writes, and the search over them filters as FHIR says."""

from __future__ import annotations

from typing import Any

import pytest
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.codesystem import CodeSystem

from app.fhir.codesystems import (
    code_systems,
    outcome_category_system,
    rule_system,
    safeguarding_status_system,
    search_bundle,
)
from app.fhir.errors import FhirError
from app.fhir.terminology import CATEGORIES, STATUS_CODES, Terminology, load_terminology
from app.rules import RuleSet, load_rules
from app.settings import PROJECT_ROOT

RULES_DIR = PROJECT_ROOT / "rules"
OFF_RULE = """
rules:
  - id: switched-off
    version: 3
    enabled: false
    description: "A rule that is kept   but switched off,\\n for now."
    priority: low
    agencies: [gp]
    scope: family
    categories: [was-not-brought]
"""


@pytest.fixture(scope="module")
def terms() -> Terminology:
    return load_terminology(RULES_DIR / "terminology.yaml")


@pytest.fixture(scope="module")
def rules() -> RuleSet:
    return load_rules(RULES_DIR)


def valid(resource: dict[str, Any]) -> dict[str, Any]:
    """Validate with the R4B model, and check the parts every one of ours must have."""
    CodeSystem.model_validate(resource)
    assert resource["status"] == "active"
    assert resource["content"] == "complete"
    assert resource["caseSensitive"] is True
    assert resource["count"] == len(resource["concept"])
    for concept in resource["concept"]:
        assert concept["display"] and concept["definition"], concept
    return {c["code"]: c for c in resource["concept"]}


def test_outcome_categories_carry_the_written_displays(terms: Terminology) -> None:
    resource = outcome_category_system(terms)
    concepts = valid(resource)
    assert (
        resource["url"]
        == terms.outcome_system
        == "https://wnb.dev/fhir/CodeSystem/outcome-category"
    )
    assert list(concepts) == list(CATEGORIES)
    assert concepts["was-not-brought"]["display"] == "Was not brought"
    assert concepts["no-access"]["display"] == "No access visit"
    assert concepts["carer-cancelled"]["display"] == "Cancelled by carer"
    assert resource["version"] == str(terms.version)


def test_safeguarding_statuses(terms: Terminology) -> None:
    resource = safeguarding_status_system(terms)
    concepts = valid(resource)
    assert resource["url"] == terms.status_system
    assert list(concepts) == list(STATUS_CODES) == ["cp-plan", "looked-after", "child-in-need"]
    assert concepts["cp-plan"]["display"] == "Child protection plan"


def test_one_rule_concept_per_loaded_rule(terms: Terminology, rules: RuleSet) -> None:
    resource = rule_system(terms, rules.rules)
    concepts = valid(resource)
    assert resource["url"] == terms.rule_system
    assert list(concepts) == [r.id for r in rules.rules]
    repeat = concepts["repeat-wnb"]
    text = " ".join(rules.rule("repeat-wnb").description.split())
    # The display is what a raised Flag's code carries, so the two always agree.
    assert repeat["display"] == repeat["definition"] == text
    assert repeat["property"] == [
        {"code": "version", "valueInteger": 2},
        {"code": "priority", "valueCode": "medium"},
        {"code": "scope", "valueCode": "child"},
    ]
    assert {p["code"] for p in resource["property"]} == {"version", "priority", "scope", "inactive"}


def test_a_switched_off_rule_is_inactive_and_changes_the_version(
    terms: Terminology, rules: RuleSet, tmp_path: Any
) -> None:
    (tmp_path / "off.yaml").write_text(OFF_RULE)
    off = load_rules(tmp_path / "off.yaml").rules
    resource = rule_system(terms, [*rules.rules, *off])
    concept = valid(resource)["switched-off"]
    assert concept["display"] == "A rule that is kept but switched off, for now."
    assert {"code": "inactive", "valueBoolean": True} in concept["property"]
    assert {"code": "scope", "valueCode": "family"} in concept["property"]
    assert resource["version"] != rule_system(terms, rules.rules)["version"]


@pytest.mark.parametrize(
    ("params", "ids"),
    [
        ([], ["outcome-category", "safeguarding-status", "wnb-rule", "wnb-flag-code"]),
        ([("url", "https://wnb.dev/fhir/CodeSystem/wnb-rule")], ["wnb-rule"]),
        ([("url", "https://wnb.dev/fhir/CodeSystem/outcome-category|1")], ["outcome-category"]),
        ([("url", "https://wnb.dev/fhir/CodeSystem/outcome-category|2")], []),
        ([("url", "https://wnb.dev/fhir/CodeSystem/nothing")], []),
        ([("_id", "wnb-rule,safeguarding-status")], ["safeguarding-status", "wnb-rule"]),
        ([("name", "safeg")], ["safeguarding-status"]),
        ([("_id", "wnb-rule"), ("name", "Outcome")], []),
        ([("_format", "json"), ("_id", "wnb-rule")], ["wnb-rule"]),
    ],
)
def test_search(
    terms: Terminology, rules: RuleSet, params: list[tuple[str, str]], ids: list[str]
) -> None:
    bundle = search_bundle(code_systems(terms, rules.rules), params, "http://x/fhir")
    Bundle.model_validate(bundle)
    assert bundle["type"] == "searchset"
    assert bundle["total"] == len(ids)
    assert [e["resource"]["id"] for e in bundle["entry"]] == ids
    assert [e["fullUrl"] for e in bundle["entry"]] == [f"http://x/fhir/CodeSystem/{i}" for i in ids]


def test_unknown_search_parameter_is_400(terms: Terminology, rules: RuleSet) -> None:
    with pytest.raises(FhirError) as caught:
        search_bundle(code_systems(terms, rules.rules), [("system", "x")], "http://x/fhir")
    assert caught.value.status == 400
    assert caught.value.issues[0].expression == "system"
