"""Test kit for the rule engine: build events by day number, replay them as the live path
does (`desired_flags` stands on `replay_family`), read firings.

A plain module (not conftest) so test modules can import it by its unique name.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from app.rules import EventView, Firing, RuleSet, StatusView
from app.rules.backtest import replay_family

ROOT = Path(__file__).resolve().parents[2]
T0 = datetime(2024, 1, 1, 9, 0, tzinfo=UTC)
# The shipped rules (rules/default.yaml), in file order.
SHIPPED_RULE_IDS = (
    "protected-child",
    "infant-wnb",
    "repeat-wnb",
    "family-wnb",
    "multi-service",
    "carer-cancellations",
    "not-rebooked",
)


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
            service_key=service,
            age_days=age_days,
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
        """rule id -> the first firing that counts `trigger`, when the family's events are
        replayed up to `now` (default: the latest event, when every one is known) as live
        reconciliation replays them. `due`: time-based rules only (decided when their window
        closes)."""
        events = [trigger, *history]
        found = replay_family(
            self.rules.plans,
            events,
            statuses,
            since=None,
            now=now or max(e.at for e in events),
            same_miss=self.rules.same_miss,
        )
        time_based = {p.rule.id for p in self.rules.plans if p.follow_up is not None}
        by_rule: dict[str, Firing] = {}
        for timed in sorted(found, key=lambda t: (t.at, t.trigger_at)):
            firing = timed.firing
            if (not due or firing.rule_id in time_based) and (
                trigger.event_id in firing.evidence_event_ids
            ):
                by_rule.setdefault(firing.rule_id, firing)
        return by_rule

    def fires_for_c1(
        self,
        rule_id: str,
        trigger: EventView,
        history: Iterable[EventView],
        evidence: tuple[str, ...] | None,
    ) -> Firing | None:
        """The firing of `rule_id` for child c1 on exactly `evidence` (checked), or None when
        `evidence` is None (checked that it does not fire)."""
        firing = self.fired(trigger, history).get(rule_id)
        if evidence is None:
            assert firing is None
            return None
        assert firing is not None
        assert (firing.child_ids, firing.evidence_event_ids) == (("c1",), evidence)
        return firing
