"""The flags a family should have now: one pure function of its current facts and the rules.

Live reconciliation and `backtest` both stand on the backtest's replay (`backtest.windows`),
so what is raised live is what a backtest of the same facts reports, whatever order the facts
arrived in. Live reconciliation merges the replay's windows directly (`evidence_union`).
`merge_firings` merges firings one by one, as live reconciliation did before: the tests
hold the two equal, and it serves anyone merging a backtest's firings per (rule, child).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from app.rules.desired_flag import DesiredFlag, Pair
from app.rules.evidence_union import merged_flags
from app.rules.model import EventView, StatusView, TimedFiring
from app.rules.ruleset import RuleSet

__all__ = [
    "DEATH_DATE_UNKNOWN",
    "PERIOD_UNKNOWN",
    "DesiredFlag",
    "FamilyFacts",
    "Pair",
    "desired_flags",
    "merge_firings",
    "next_due",
]

# A child recorded as deceased with no date (`deceasedBoolean` true): the death may have come
# before any event, so no new flag is raised for the child at all.
DEATH_DATE_UNKNOWN = datetime.min.replace(tzinfo=UTC)
PERIOD_UNKNOWN = " (the status's start was not sent: counted from when the service learned of it)"


@dataclass(frozen=True)
class FamilyFacts:
    """What the rules may read of one family, as known now.

    `events` are the children's coded events (merged records already folded into the
    surviving child's id); `statuses` their safeguarding statuses; `deaths` the date of death
    of each child recorded as deceased (no flag is raised for what happens after it).
    """

    events: Sequence[EventView]
    statuses: Sequence[StatusView] = ()
    deaths: Mapping[str, datetime] = field(default_factory=dict)


def desired_flags(rules: RuleSet, facts: FamilyFacts, now: datetime) -> dict[Pair, DesiredFlag]:
    """The flags the family's facts call for at `now`, keyed by (rule id, child id).

    Every firing of the replay counts (a pattern that held once stays a concern until a nurse
    closes it), and its evidence is the union of the evidence of all its firings.
    """
    out = merged_flags(
        rules.plans,
        facts.events,
        facts.statuses,
        facts.deaths,
        now=now,
        same_miss=rules.same_miss,
    )
    _say_unknown_periods(rules, facts.statuses, out)
    return out


def _say_unknown_periods(
    rules: RuleSet, statuses: Sequence[StatusView], flags: Mapping[Pair, DesiredFlag]
) -> None:
    """A flag resting on a status whose Flag gave no start says so: the status was counted
    from when the service learned of it, and may have begun earlier."""
    plans = {plan.rule.id: plan for plan in rules.plans if plan.statuses}
    for (rule_id, child), flag in flags.items():
        plan = plans.get(rule_id)
        unknown = plan is not None and any(
            s.child_id == child and s.status in plan.statuses and not s.start_stated
            for s in statuses
        )
        if unknown and PERIOD_UNKNOWN not in flag.description:
            flag.description += PERIOD_UNKNOWN


def merge_firings(
    found: Sequence[TimedFiring], deaths: Mapping[str, datetime] | None = None
) -> dict[Pair, DesiredFlag]:
    """Firings merged per (rule, child); a child's firings after its death are dropped."""
    deaths = deaths or {}
    out: dict[Pair, DesiredFlag] = {}
    for timed in sorted(found, key=lambda t: (t.at, t.trigger_at, t.firing.trigger_event_id)):
        f = timed.firing
        for child in f.child_ids:
            died = deaths.get(child)
            if died is not None and timed.at > died:
                continue
            flag = out.get((f.rule_id, child))
            if flag is None:
                flag = out[(f.rule_id, child)] = DesiredFlag(
                    f.rule_id, f.rule_version, child, f.priority, f.description
                )
            flag.events.update(f.evidence_event_ids)
            flag.children.update(f.child_ids)
            flag.agencies.update(f.agencies)
            flag.age_uncertain = flag.age_uncertain or child in f.age_uncertain_child_ids
            flag.description = f.description  # the latest wording counts the most evidence
    return out


def next_due(rules: RuleSet, events: Sequence[EventView], now: datetime) -> datetime | None:
    """The earliest moment after `now` at which a time-based rule's window closes for one of
    `events`: the family must be reconciled again then, even if no fact changes."""
    due = [
        at
        for plan in rules.plans
        if plan.follow_up is not None
        for event in events
        if event.category in plan.categories and (at := plan.due(event)) is not None and at > now
    ]
    return min(due, default=None)
