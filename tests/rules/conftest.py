"""Fixtures for the rule engine tests."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from rulekit import ROOT, Kit

from app.rules import RuleSet, load_rules


@pytest.fixture(scope="session")
def default_rules() -> RuleSet:
    """The shipped rules, loaded the way the service loads them (the whole folder)."""
    return load_rules(ROOT / "rules")


@pytest.fixture(scope="session")
def kit(default_rules: RuleSet) -> Kit:
    return Kit(default_rules)


@pytest.fixture
def write_rules(tmp_path: Path) -> Callable[..., Path]:
    """Write YAML text to a rule file in a fresh folder and return its path."""

    def write(text: str, name: str = "local.yaml") -> Path:
        path = tmp_path / name
        path.write_text(text, encoding="utf-8")
        return path

    return write
