"""Read rule files from `rules/` and validate them, failing with one message a person can act on."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from app.rules.ruleset import RuleSet
from app.rules.schema import Rule, RuleFieldError, RuleFile

# Lives in the same folder but is a different kind of file, loaded by app.fhir.terminology.
SKIPPED_FILES = frozenset({"terminology.yaml"})


class RuleFileError(Exception):
    """A rule file that cannot be used: the message names the file, the rule and the field."""


def load_rules(path: Path) -> RuleSet:
    """Load one rule file, or every `*.yaml` in a folder except terminology.yaml, in name order.

    Raises RuleFileError (e.g. "rules/default.yaml: rule repeat-wnb: field window_days: Input
    should be greater than 0") on the first problem, including a rule id defined twice.
    """
    # Lazily: the first problem in file order is the one reported.
    return _combine((str(file), *_load_file(file)) for file in _rule_files(path))


def load_rules_text(text: str, name: str) -> RuleSet:
    """Load one rule file given as text (a file sent to the API), with the messages a file
    on disk gets; `name` stands for the file in them."""
    return _combine([(name, *_parse(text, name))])


def _combine(files: Iterable[tuple[str, int | None, list[Rule]]]) -> RuleSet:
    """One rule set from (file, same_miss_minutes, rules) in order: ids unique, one same-miss
    window."""
    rules: list[Rule] = []
    defined_in: dict[str, str] = {}
    same_miss: tuple[int, str] | None = None
    for file, minutes, loaded in files:
        if minutes is not None:
            if same_miss is not None and same_miss[0] != minutes:
                raise RuleFileError(
                    f"{file}: field same_miss_minutes: {minutes} differs from {same_miss[0]} "
                    f"in {same_miss[1]}"
                )
            same_miss = (minutes, file)
        for rule in loaded:
            if rule.id in defined_in:
                raise RuleFileError(
                    f"{file}: rule {rule.id}: field id: already defined in {defined_in[rule.id]}"
                )
            defined_in[rule.id] = file
            rules.append(rule)
    if same_miss is None:
        return RuleSet(rules)
    return RuleSet(rules, same_miss=timedelta(minutes=same_miss[0]))


def _rule_files(path: Path) -> list[Path]:
    if path.is_dir():
        files = sorted(p for p in path.glob("*.yaml") if p.name not in SKIPPED_FILES)
        if not files:
            raise RuleFileError(f"{path}: no rule files (*.yaml) found")
        return files
    if not path.is_file():
        raise RuleFileError(f"{path}: no such file or folder")
    return [path]


def _load_file(file: Path) -> tuple[int | None, list[Rule]]:
    try:
        text = file.read_text(encoding="utf-8")
    except OSError as exc:
        raise RuleFileError(f"{file}: cannot be read ({exc.strerror})") from exc
    return _parse(text, str(file))


def _parse(text: str, file: str) -> tuple[int | None, list[Rule]]:
    """The file's same_miss_minutes (None: not given) and its rules; `file` names it."""
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise RuleFileError(f"{file}: not valid YAML ({exc})") from exc
    try:
        top = RuleFile.model_validate(raw)
    except ValidationError as exc:
        raise RuleFileError(f"{file}: {_describe(exc)}") from exc
    rules = []
    for position, item in enumerate(top.rules, start=1):
        try:
            rules.append(Rule.model_validate(item))
        except ValidationError as exc:
            raise RuleFileError(f"{file}: rule {_name(item, position)}: {_describe(exc)}") from exc
    return top.same_miss_minutes, rules


def _name(item: dict[str, Any], position: int) -> str:
    """The rule's id if it has a usable one, else its position, so the admin can find it."""
    rule_id = item.get("id")
    return rule_id if isinstance(rule_id, str) and rule_id else f"#{position}"


def _describe(exc: ValidationError) -> str:
    """`field <dotted.path>: <message>` for the first error (one message, one thing to fix)."""
    error = exc.errors()[0]
    cause = (error.get("ctx") or {}).get("error")
    if isinstance(cause, RuleFieldError):
        return f"field {cause.field}: {cause.message}"
    where = ".".join(str(part) for part in error["loc"]) or "(top level)"
    message = error["msg"].removeprefix("Value error, ")
    return f"field {where}: {message}"
