"""Test kit for the rule engine: build events by day number, evaluate, read firings.

A plain module (not conftest) so test modules can import it by its unique name.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from app.rules import Context, EventView, Firing, RuleSet, StatusView

ROOT = Path(__file__).resolve().parents[2]
T0 = datetime(2024, 1, 1, 9, 0, tzinfo=UTC)


def day(n: float) -> datetime:
    """T0 plus n days (fractions allowed)."""
    return T0 + timedelta(days=n)


@dataclass(frozen=True)
class Kit:
    """Scenario helpers bound to one rule set."""

    rules: RuleSet

    @staticmethod
    def event(
        n: float,
        category: str = "was-not-brought",
        *,
        child: str = "c1",
        service: str | None = "gp",
        age_days: int | None = 2000,
        event_id: str | None = None,
    ) -> EventView:
        """An event on day `n`; the id says what it is, so failures read well."""
        return EventView(
            event_id=event_id or f"{child}:{category}:{service}:d{n}",
            child_id=child,
            at=day(n),
            category=category,
            service_code=service,
            age_days=age_days,
        )

    def context(
        self,
        trigger: EventView,
        history: Iterable[EventView] = (),
        statuses: Sequence[StatusView] = (),
        now: datetime | None = None,
    ) -> Context:
        """A context as the caller builds it: child and family lists both hold the trigger."""
        family = [trigger, *history]
        return Context(
            trigger=trigger,
            child_events=[e for e in family if e.child_id == trigger.child_id],
            family_events=family,
            statuses=list(statuses),
            now=now or trigger.at,
        )

    def fired(
        self,
        trigger: EventView,
        history: Iterable[EventView] = (),
        statuses: Sequence[StatusView] = (),
        now: datetime | None = None,
        *,
        due: bool = False,
    ) -> dict[str, Firing]:
        """rule id -> firing, from `evaluate` (or `evaluate_due` when `due`)."""
        ctx = self.context(trigger, history, statuses, now)
        firings = self.rules.evaluate_due(ctx) if due else self.rules.evaluate(ctx)
        by_rule = {f.rule_id: f for f in firings}
        assert len(by_rule) == len(firings), "a rule fired twice for one trigger"
        return by_rule
