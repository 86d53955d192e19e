"""The pure rule engine: load rule files, evaluate them against a child's and family's events.

No database, no HTTP, no work at import time. See rules/default.yaml for the rule language.
"""

from app.rules.backtest import backtest
from app.rules.diff import FiringDiff, diff
from app.rules.loader import RuleFileError, load_rules, load_rules_text
from app.rules.model import EventView, Firing, StatusView, TimedFiring
from app.rules.ruleset import RuleSet
from app.rules.schema import Rule

__all__ = [
    "EventView",
    "Firing",
    "FiringDiff",
    "Rule",
    "RuleFileError",
    "RuleSet",
    "StatusView",
    "TimedFiring",
    "backtest",
    "diff",
    "load_rules",
    "load_rules_text",
]
