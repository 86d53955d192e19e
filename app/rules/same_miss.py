"""One miss reported by two systems (a GP system and CHIS, each with its own identifier) is one
event: counted once by every rule, with every report named in the evidence.

Two events are the same miss when they are of the same child, the same (known) service and
the same category, and start within the rule files' `same_miss_minutes` of the first of them.
One service: the same key, or an event known only by its organisation and one at that
organisation (`places.same_service`); a report joins the latest group whose every report is of
its service, so a GP and a dental miss at one practice never fold into one. An unknown service
never merges: two misses at unknown services may be two clinics, and
counting a miss twice is the lesser error than losing one.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta

from app.rules.model import EventView, event_order
from app.rules.places import same_service

DEFAULT_WINDOW = timedelta(minutes=60)
# (event_id, child_id) of the event that stands for a miss -> ids of every report of it.
Sources = Mapping[tuple[str, str], tuple[str, ...]]


def source_key(event: EventView) -> tuple[str, str]:
    """Identifies one child's event: one appointment holds an event per Patient participant."""
    return event.event_id, event.child_id


def merge_same_misses(
    events: Iterable[EventView], window: timedelta
) -> tuple[list[EventView], dict[tuple[str, str], tuple[str, ...]]]:
    """`events` with each group of reports of one miss folded into one (the earliest report
    stands for it), and the sources of every folded group. Distinct events: equal views
    (every field equal) count once."""
    ordered = distinct_in_order(sorted(events, key=event_order))
    if not _none_close(ordered, window):
        return _merge_in_runs(ordered, window)
    # Nothing can fold: every report is more than `window` after the one before it of its
    # child and outcome. The usual family, at a fraction of the work of `_merge_in_runs`,
    # with its result: the unknown services first, then the rest, in a stable sort (which
    # orders views of one key, a joint appointment's children, as that does).
    unknown = [e for e in ordered if e.service_key is None]
    if not unknown or len(unknown) == len(ordered):
        return ordered, {}
    kept = unknown + [e for e in ordered if e.service_key is not None]
    kept.sort(key=event_order)
    return kept, {}


def distinct_in_order(ordered: list[EventView]) -> list[EventView]:
    """`ordered` (sorted by `event_order`) without repeats of an equal view, the first kept:
    what `dict.fromkeys` before the sort would give. Equal views share their sort key, so a
    repeat can only be among the run of views with the key of the one before it; only those
    are hashed, not every view."""
    out: list[EventView] = []
    key: tuple[datetime, str, str] | None = None
    same: list[EventView] = []
    for event in ordered:
        k = (event.at, event.event_id, event.category)
        if k == key:
            if event in same:
                continue
            same.append(event)
        else:
            key, same = k, [event]
        out.append(event)
    return out


def _none_close(ordered: list[EventView], window: timedelta) -> bool:
    """Whether no report of a known service comes within `window` after the one before it of
    the same child and outcome: then no group of `_merge_in_runs` takes a second report (a
    group's first report is never later than the report before)."""
    last: dict[tuple[str, str], datetime] = {}
    for event in ordered:
        if event.service_key is None:
            continue
        key = (event.child_id, event.category)
        before = last.get(key)
        if before is not None and event.at - before <= window:
            return False
        last[key] = event.at
    return True


def _merge_in_runs(
    ordered: list[EventView], window: timedelta
) -> tuple[list[EventView], dict[tuple[str, str], tuple[str, ...]]]:
    """The general case of `merge_same_misses`, on distinct views in `event_order`."""
    groups: dict[tuple[str, str], list[list[EventView]]] = {}
    kept: list[EventView] = []
    clusters: list[list[EventView]] = []
    for event in ordered:
        if event.service_key is None:
            kept.append(event)
            continue
        runs = groups.setdefault((event.child_id, event.category), [])
        last = _latest_of_its_service(runs, event, window)
        if last is not None and event.event_id not in {e.event_id for e in last}:
            last.append(event)
            continue
        run = [event]
        runs.append(run)
        clusters.append(run)
    sources: dict[tuple[str, str], tuple[str, ...]] = {}
    for run in clusters:
        lead = run[0]
        kept.append(lead)
        if len(run) > 1:
            sources[source_key(lead)] = tuple(dict.fromkeys(e.event_id for e in run))
    kept.sort(key=event_order)  # the replay's order (`event_order`): it sorts no more
    return kept, sources


def _latest_of_its_service(
    runs: list[list[EventView]], event: EventView, window: timedelta
) -> list[EventView] | None:
    """The latest group whose every report is of `event`'s service, if it started within
    `window` before `event` (an older one cannot take it: groups start in time order)."""
    for run in reversed(runs):
        if event.at - run[0].at > window:
            return None
        if all(same_service(event, e) for e in run):
            return run
    return None
