"""A loaded set of rules, and evaluation of them against one Context."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from datetime import datetime, timedelta
from operator import attrgetter

from app.rules.calendar import day_number
from app.rules.fire import fire
from app.rules.follow_up import FollowUpIndex
from app.rules.model import Context, EventView, Firing, StatusView
from app.rules.plan import Plan
from app.rules.same_miss import DEFAULT_WINDOW, merge_same_misses
from app.rules.schema import RUN_BREAKERS, Rule

# The one order events are replayed in: time, then id (then category) to break ties.
# attrgetter rather than a lambda: a backtest sorts a million events with it.
event_order = attrgetter("at", "event_id", "category")


class RuleSet:
    """Validated rules (enabled or not) and the ingest-time / time-based evaluation of them."""

    def __init__(self, rules: Sequence[Rule], same_miss: timedelta = DEFAULT_WINDOW) -> None:
        """Wrap validated rules; build them with `load_rules` rather than by hand.

        `same_miss`: reports of one child's miss at one service this close are one event.
        """
        self.rules: list[Rule] = list(rules)
        self.plans: list[Plan] = [Plan.of(rule) for rule in self.rules if rule.enabled]
        self.same_miss = same_miss

    def rule(self, rule_id: str) -> Rule:
        """The rule with this id (KeyError if none)."""
        for rule in self.rules:
            if rule.id == rule_id:
                return rule
        raise KeyError(rule_id)

    def trigger_categories(self) -> frozenset[str]:
        """Categories some enabled rule counts: an event of any other category can never be
        the trigger of a firing (the trigger must be evidence), so it need not be judged."""
        return frozenset().union(*(plan.categories for plan in self.plans))

    def uses_statuses(self) -> bool:
        """Whether any enabled rule looks at safeguarding statuses."""
        return any(plan.statuses for plan in self.plans)

    def lookback_days(self) -> int:
        """How many days either side of a trigger the caller must load for `Context` (one
        more than the rules reach: windows count local calendar days, and a local day can
        start an hour before its UTC date)."""
        reach = max((plan.reach_days for plan in self.plans), default=0)
        return reach + 1 if self.plans else 0

    def due_times(self, event: EventView) -> dict[str, datetime]:
        """When each time-based rule that could count `event` can be decided (rule id -> time).

        Statuses are not checked here (they may change before then); `evaluate_due` does.
        """
        return {
            plan.rule.id: due
            for plan in self.plans
            if (due := plan.due(event)) is not None and event.category in plan.categories
        }

    def evaluate(self, ctx: Context) -> list[Firing]:
        """Ingest-time evaluation: every rule that is not time-based, plus time-based rules
        whose window around this (past-dated) trigger has already closed at `ctx.now`."""
        plans = [p for p in self.plans if p.follow_up is None or _closed(p, ctx)]
        return _evaluate(plans, ctx, self.same_miss)

    def evaluate_due(self, ctx: Context, rule_ids: Collection[str] | None = None) -> list[Firing]:
        """Time-based evaluation of `ctx.trigger` for rules whose window closed by `ctx.now`.

        `rule_ids` narrows it to the rules the scheduler is due to check (see `due_times`), so a
        rule decided earlier for the same event is not decided twice.
        """
        plans = [
            p
            for p in self.plans
            if p.follow_up is not None
            and _closed(p, ctx)
            and (rule_ids is None or p.rule.id in rule_ids)
        ]
        return _evaluate(plans, ctx, self.same_miss)


def _closed(plan: Plan, ctx: Context) -> bool:
    due = plan.due(ctx.trigger)
    return due is not None and due <= ctx.now


def _evaluate(plans: Sequence[Plan], ctx: Context, same_miss: timedelta) -> list[Firing]:
    if not plans:
        return []
    me = ctx.trigger
    # Defensive merge: the trigger and the child's events count even if a list left them out.
    family = _unique([me, *ctx.child_events, *ctx.family_events])
    family, sources = merge_same_misses(family, same_miss, keep=me)
    today = day_number(me.at)
    mine = [e for e in family if e.child_id == me.child_id]
    statuses = _by_child(ctx.statuses)
    breaks = {me.child_id: sorted(e.at for e in mine if e.category in RUN_BREAKERS)}
    firings = []
    for plan in plans:
        if not plan.matches(me, statuses.get(me.child_id, ())):
            continue
        pool = mine if plan.rule.scope == "child" else family
        reach = plan.span
        candidates = sorted(
            (
                e
                for e in pool
                if (e is me or (reach is not None and abs(day_number(e.at) - today) <= reach))
                and plan.matches(e, statuses.get(e.child_id, ()))
            ),
            key=event_order,
        )
        follow_ups = FollowUpIndex(plan, pool) if plan.follow_up is not None else None
        trigger = next(i for i, e in enumerate(candidates) if e is me)
        firing = fire(
            plan,
            candidates,
            trigger,
            breaks=breaks,
            follow_ups=follow_ups,
            now=ctx.now,
            sources=sources,
        )
        if firing is not None:
            firings.append(firing)
    return firings


def _unique(events: Iterable[EventView]) -> list[EventView]:
    # dict keeps the first object seen for each value, so the trigger keeps its identity.
    return list(dict.fromkeys(events))


def _by_child(statuses: Iterable[StatusView]) -> dict[str, list[StatusView]]:
    found: dict[str, list[StatusView]] = {}
    for status in statuses:
        found.setdefault(status.child_id, []).append(status)
    return found
