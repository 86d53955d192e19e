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
from datetime import timedelta

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
    stands for it), and the sources of every folded group."""
    ordered = sorted(events, key=event_order)
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
