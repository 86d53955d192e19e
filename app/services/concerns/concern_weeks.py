"""A backtest in the nurses' language: how many concerns a rule file would have raised each
week, and how many reasons it would have added to concerns already raised. One concern per
child: a child's first firing raises it, a later firing of a rule it does not hold yet adds a
reason, and every other firing only adds evidence."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from app.rules import TimedFiring


@dataclass
class Week:
    """An ISO week (`2026-W23`, by the day the firing would have happened, UTC)."""

    week: str
    raised: set[str] = field(default_factory=set)  # children whose concern is raised
    reasons_added: int = 0  # (rule, child) reasons added to a concern already raised


def concern_weeks(found: Iterable[TimedFiring]) -> list[Week]:
    """Weeks in order, each with the concerns raised and the reasons added in it."""
    firsts: dict[tuple[str, str], TimedFiring] = {}
    for t in found:
        for child in t.firing.child_ids:
            key = (t.firing.rule_id, child)
            if key not in firsts or _order(t) < _order(firsts[key]):
                firsts[key] = t
    by_child: dict[str, list[tuple[tuple[object, ...], str]]] = defaultdict(list)
    for (rule, child), t in firsts.items():
        by_child[child].append((_order(t), rule))
    weeks: dict[str, Week] = {}
    for child, reasons in by_child.items():
        reasons.sort()
        for n, (order, _) in enumerate(reasons):
            label = _week(order[0])
            week = weeks.setdefault(label, Week(label))
            if n == 0:
                week.raised.add(child)
            else:
                week.reasons_added += 1
    return [weeks[k] for k in sorted(weeks)]


def children_with_concerns(found: Sequence[TimedFiring]) -> dict[str, set[str]]:
    """child id -> the rules that would be its concern's reasons."""
    out: dict[str, set[str]] = defaultdict(set)
    for t in found:
        for child in t.firing.child_ids:
            out[child].add(t.firing.rule_id)
    return dict(out)


def _order(t: TimedFiring) -> tuple[object, ...]:
    return (t.at, t.trigger_at, t.firing.trigger_event_id)


def _week(at: object) -> str:
    year, week, _ = at.isocalendar()  # type: ignore[attr-defined]
    return f"{year}-W{week:02d}"
