"""A family's desired flags merged from the replay's evidence windows, without a `Firing` each.

`desired_flags` needs, per (rule, child), only the union of the evidence of every firing, the
rule's fixed fields, and the wording of the latest firing. Built one `Firing` per trigger (as
`merge_firings(replay_family(...))` does), each copies its whole window of evidence: a child
with n misses in a year costs n windows of up to n events, for every write. Here a firing
adds its window to the child's list as a pair of positions in its group, and only the latest
firing of each (rule, child) is worded; the union is read once at the end. The result equals
`merge_firings(replay_family(...))`, property-tested (`tests/rules/test_evidence_union.py`).
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from app.rules.backtest import Window, plan_groups, prepare, windows
from app.rules.desired_flag import DesiredFlag, Pair
from app.rules.fire import wording
from app.rules.model import EventView, StatusView
from app.rules.plan import Plan
from app.rules.same_miss import Sources, source_key

# How firings are ordered when merged (as `merge_firings` sorts them): when it happened, the
# trigger's time, the trigger's id.
Order = tuple[datetime, datetime, str]


@dataclass
class _Merging:
    """One (rule, child) pair while its group's windows are read."""

    first: Order
    # The first firing's trigger in its group: the replay's own order on a tie of `first`.
    # A safeguard: the pairs are found in that order already, and the sort is stable.
    seq: int
    latest: Order
    latest_window: Window
    spans: list[tuple[int, int]] = field(default_factory=list)


def merged_flags(
    plans: Sequence[Plan],
    events: Iterable[EventView],
    statuses: Iterable[StatusView],
    deaths: Mapping[str, datetime],
    *,
    now: datetime,
    same_miss: timedelta,
) -> dict[Pair, DesiredFlag]:
    """What `merge_firings(replay_family(plans, events, statuses, since=None, now=now,
    same_miss=same_miss), deaths)` returns, keys in the same order."""
    family = prepare(events, statuses, same_miss)
    found: list[tuple[Order, tuple[int, int, int], Pair, DesiredFlag]] = []
    for p, plan in enumerate(plans):
        groups, follow_ups = plan_groups(plan, family)
        for g, group in enumerate(groups):
            merging = _read_windows(
                plan, group, windows(plan, group, family.breaks, follow_ups, None, now), deaths
            )
            for child, m in merging.items():
                flag = _flag(plan, child, group, m, family.sources)
                found.append((m.first, (p, g, m.seq), (plan.rule.id, child), flag))
    # `merge_firings` creates each pair at its first firing in time order (the replay's own
    # order on a tie, then the firing's children in order): the same keys in the same order.
    # The sort is stable, and one firing's children come in order from `_read_windows`.
    found.sort(key=lambda item: (item[0], item[1]))
    return {pair: flag for _, _, pair, flag in found}


def _read_windows(
    plan: Plan, group: list[EventView], found: Iterable[Window], deaths: Mapping[str, datetime]
) -> dict[str, _Merging]:
    """Each child's windows of `group`, as positions in it."""
    if plan.rule.scope != "family":
        return _read_child_windows(group, found, deaths)
    positions: dict[str, list[int]] = {}
    for i, e in enumerate(group):
        positions.setdefault(e.child_id, []).append(i)
    where: dict[int, int] | None = None  # id(view) -> its position, for windows with gaps
    out: dict[str, _Merging] = {}
    for w in found:
        if w.contiguous:
            lo, hi = w.offset + w.start, w.offset + w.stop
            spans = [(lo, hi)]
            children = sorted(
                c
                for c, at in positions.items()
                if (k := bisect_left(at, lo)) < len(at) and at[k] < hi
            )
        else:
            if where is None:
                where = {id(e): i for i, e in enumerate(group)}
            picked = [where[id(e)] for e in w.pool[w.start : w.stop]]
            spans = _runs(picked)
            children = sorted({group[i].child_id for i in picked})
        me = group[w.trigger]
        key = (w.at, me.at, me.event_id)
        for child in children:
            died = deaths.get(child)
            if died is not None and w.at > died:
                continue
            m = out.get(child)
            if m is None:
                m = out[child] = _Merging(key, w.trigger, key, w)
            elif key >= m.latest:  # a tie: the later in the replay's order words it
                m.latest, m.latest_window = key, w
            m.spans.extend(spans)
    return out


def _read_child_windows(
    group: list[EventView], found: Iterable[Window], deaths: Mapping[str, datetime]
) -> dict[str, _Merging]:
    """`_read_windows` for a rule of one child's events (the group is one child's): every
    window is the child's, with no lookup per window."""
    child = group[0].child_id
    died = deaths.get(child)
    m: _Merging | None = None
    spans: list[tuple[int, int]] = []
    where: dict[int, int] | None = None
    for w in found:
        if died is not None and w.at > died:
            continue
        if w.contiguous:
            spans.append((w.offset + w.start, w.offset + w.stop))
        else:
            if where is None:
                where = {id(e): i for i, e in enumerate(group)}
            spans.extend(_runs([where[id(e)] for e in w.pool[w.start : w.stop]]))
        me = group[w.trigger]
        key = (w.at, me.at, me.event_id)
        if m is None:
            m = _Merging(key, w.trigger, key, w, spans)
        elif key >= m.latest:  # a tie: the later in the replay's order words it
            m.latest, m.latest_window = key, w
    return {} if m is None else {child: m}


def _runs(positions: list[int]) -> list[tuple[int, int]]:
    """Ascending positions as runs of neighbours: `[2, 3, 4, 7]` -> `[(2, 5), (7, 8)]`."""
    out: list[tuple[int, int]] = []
    for i in positions:
        if out and out[-1][1] == i:
            out[-1] = (out[-1][0], i + 1)
        else:
            out.append((i, i + 1))
    return out


def _flag(
    plan: Plan, child: str, group: list[EventView], m: _Merging, sources: Sources
) -> DesiredFlag:
    """The pair's flag: the union of its windows, worded by its latest firing."""
    views: list[EventView] = []
    end = -1
    for lo, hi in sorted(m.spans):
        if hi <= end:
            continue
        views.extend(group[max(lo, end) : hi])
        end = hi
    rule = plan.rule
    w = m.latest_window
    # Worded as `firing_of` words the latest firing, without building the rest of it.
    evidence = w.pool[w.start : w.stop]
    named = 1 if rule.scope == "child" else len({e.child_id for e in evidence})
    if sources:
        ids = {i for e in views for i in sources.get(source_key(e), (e.event_id,))}
    else:
        ids = {e.event_id for e in views}
    children = {child} if rule.scope == "child" else {e.child_id for e in views}
    return DesiredFlag(
        rule.id,
        rule.version,
        child,
        rule.priority,
        wording(plan, named, evidence),
        agencies=set(rule.agencies),
        events=ids,
        children=children,
        age_uncertain=any(e.age_uncertain_days for e in views if e.child_id == child),
    )
