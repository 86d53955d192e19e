"""A bad rule file stops start-up with one message naming the file, the rule and the field."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from app.rules import RuleFileError
from app.runtime import build_state
from app.settings import PROJECT_ROOT
from tests.conftest import settings_for
from tests.rules.rulekit import SHIPPED_RULE_IDS


def test_bad_rule_file_stops_start_up(tmp_path: Path) -> None:
    shutil.copy(PROJECT_ROOT / "rules" / "terminology.yaml", tmp_path / "terminology.yaml")
    text = (PROJECT_ROOT / "rules" / "default.yaml").read_text()
    (tmp_path / "default.yaml").write_text(text.replace("window_days: 365", "window_days: -1"))
    settings = settings_for("sqlite:///unused.db", rules_dir=tmp_path)
    with pytest.raises(RuleFileError, match=r"default.yaml: rule repeat-wnb: field window_days"):
        build_state(settings)


def test_shipped_rules_load(tmp_path: Path) -> None:
    state = build_state(settings_for(f"sqlite:///{tmp_path / 'x.db'}"))
    assert state.rules is not None
    assert {r.id for r in state.rules.rules} >= set(SHIPPED_RULE_IDS)
