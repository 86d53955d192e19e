"""The hazard log (docs/clinical-safety/hazard-log.md) names tests that exist, covers every item
of issue 8 and both failure modes of every shipped rule."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
LOG = ROOT / "docs" / "clinical-safety" / "hazard-log.md"
COLUMNS = 8  # ID, source, cause, effect, control, test, initial risk, residual risk
TEST_REF = re.compile(r"`(tests/[\w/]+\.py)::(\w+)`")
PENDING = re.compile(r"^pending: issue \d+\b")


def rows() -> list[list[str]]:
    found = []
    for line in LOG.read_text(encoding="utf-8").splitlines():
        if line.startswith("| H-"):
            found.append([cell.strip() for cell in line.strip().strip("|").split("|")])
    return found


def test_every_row_is_complete_with_a_unique_id() -> None:
    table = rows()
    assert len(table) >= 30
    ids = [row[0] for row in table]
    assert len(ids) == len(set(ids)), "a hazard id is used twice"
    for row in table:
        assert len(row) == COLUMNS, f"{row[0]}: {len(row)} cells, expected {COLUMNS}"
        assert all(row), f"{row[0]}: an empty cell"


@pytest.mark.parametrize("row", rows(), ids=lambda row: row[0])
def test_each_named_test_exists(row: list[str]) -> None:
    cell = row[5]
    if PENDING.match(cell):
        return  # a control still being built, named by its issue
    refs = TEST_REF.findall(cell)
    assert refs, f"{row[0]}: name tests as `tests/path.py::test_name` or say `pending: issue N`"
    # Nothing else in the cell: a typo outside backticks would otherwise go unchecked.
    assert not TEST_REF.sub("", cell).strip(" ,"), f"{row[0]}: stray text in the test column"
    for path, name in refs:
        file = ROOT / path
        assert file.is_file(), f"{row[0]}: {path} does not exist"
        source = file.read_text(encoding="utf-8")
        assert re.search(rf"^(async )?def {name}\(", source, re.M), (
            f"{row[0]}: {path} has no test {name}"
        )


def test_every_item_of_issue_8_is_covered() -> None:
    sources = " ".join(row[1] for row in rows())
    for item in range(1, 12):
        assert re.search(rf"\bissue 8\.{item}\b", sources), f"issue 8 item {item} has no hazard"


def test_every_shipped_rule_has_both_failure_modes() -> None:
    shipped = yaml.safe_load((ROOT / "rules" / "default.yaml").read_text(encoding="utf-8"))
    sources = {row[1] for row in rows()}
    for rule in shipped["rules"]:
        for mode in ("FN", "FP"):
            assert f"rule {rule['id']} {mode}" in sources, f"{rule['id']}: no {mode} hazard"


def test_late_facts_and_delivery_are_named() -> None:
    sources = [row[1] for row in rows()]
    assert sources.count("late facts") >= 3
    assert sources.count("delivery") >= 3
