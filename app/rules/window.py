"""Find the window around a trigger that holds the most distinct things (events, services, ...)."""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Hashable, Sequence


def best_window(
    times: Sequence[int],
    keys: Sequence[Hashable] | None,
    trigger: int,
    span: int,
) -> tuple[int, int, int]:
    """Return `(start, stop, distinct)` for the slice `[start:stop]` that contains `trigger`.

    `times` are the events' calendar day numbers, sorted; a window holds events at most `span`
    days apart (both ends inclusive: a 90-day window holds 1 September and 30 November). Of
    every window containing the trigger, the one with the most distinct `keys` (None: every
    event is distinct) wins; on a tie, the earliest, so a real-time trigger
    reports the look-back it completed. Linear in the events within `span` of the trigger.
    """
    pivot = times[trigger]
    # A best window can always start at an event, and it must reach the trigger.
    first = bisect_left(times, pivot - span, 0, trigger)
    if trigger == len(times) - 1:
        # Nothing after the trigger (the real-time case): the earliest window holds the rest,
        # and every later one holds a subset of it.
        stop = len(times)
        return first, stop, stop - first if keys is None else len(set(keys[first:stop]))
    if keys is None:
        return _most_events(times, first, trigger, span)
    counts: dict[Hashable, int] = {}
    stop = first
    best = (trigger, trigger + 1, 0)
    for start in range(first, trigger + 1):
        limit = times[start] + span
        while stop < len(times) and times[stop] <= limit:
            counts[keys[stop]] = counts.get(keys[stop], 0) + 1
            stop += 1
        if len(counts) > best[2]:
            best = (start, stop, len(counts))
        key = keys[start]
        counts[key] -= 1
        if not counts[key]:
            del counts[key]
    return best


def _most_events(times: Sequence[int], first: int, trigger: int, span: int) -> tuple[int, int, int]:
    stop = first
    best = (trigger, trigger + 1, 0)
    for start in range(first, trigger + 1):
        limit = times[start] + span
        while stop < len(times) and times[stop] <= limit:
            stop += 1
        if stop - start > best[2]:
            best = (start, stop, stop - start)
    return best
