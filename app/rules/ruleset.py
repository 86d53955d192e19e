"""A loaded set of rules; `desired.desired_flags` evaluates them against a family's facts."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

from app.rules.model import event_order
from app.rules.plan import Plan
from app.rules.same_miss import DEFAULT_WINDOW
from app.rules.schema import Rule

__all__ = ["RuleSet", "event_order"]


class RuleSet:
    """Validated rules (enabled or not), and the plans of the enabled ones."""

    def __init__(self, rules: Sequence[Rule], same_miss: timedelta = DEFAULT_WINDOW) -> None:
        """Wrap validated rules; build them with `load_rules` rather than by hand.

        `same_miss`: reports of one child's miss at one service this close are one event.
        """
        self.rules: list[Rule] = list(rules)
        ids = [rule.id for rule in self.rules]
        if len(set(ids)) != len(ids):
            # Flags are keyed by (rule id, child): two rules of one id would share them.
            raise ValueError("two rules have the same id")
        self.plans: list[Plan] = [Plan.of(rule) for rule in self.rules if rule.enabled]
        self.same_miss = same_miss
        self._child_only: RuleSet | None = None

    def rule(self, rule_id: str) -> Rule:
        """The rule with this id (KeyError if none)."""
        for rule in self.rules:
            if rule.id == rule_id:
                return rule
        raise KeyError(rule_id)

    def child_rules_only(self) -> RuleSet:
        """These rules without those of family scope (a family held for an admin's word)."""
        if self._child_only is None:
            kept = [r for r in self.rules if r.scope != "family"]
            self._child_only = RuleSet(kept, self.same_miss)
        return self._child_only

    def uses_statuses(self) -> bool:
        """Whether any enabled rule looks at safeguarding statuses."""
        return any(plan.statuses for plan in self.plans)

    def lookback_days(self) -> int:
        """How many days either side of a trigger the rules can look (one more than the
        rules reach: windows count local calendar days, and a local day can start an hour
        before its UTC date)."""
        reach = max((plan.reach_days for plan in self.plans), default=0)
        return reach + 1 if self.plans else 0
