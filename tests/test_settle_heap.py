"""`runtime.settle_heap`: what start-up built is frozen out of the garbage collector's full
collections (bench/stages.py: 0.25-0.4 ms per Bundle entry), and what comes later is still
collected."""

from __future__ import annotations

import gc
import weakref

from app.fhir.parse import warm_models
from app.runtime import settle_heap


class _Node:
    me: object


def test_start_up_is_frozen_and_later_garbage_is_still_collected() -> None:
    try:
        settle_heap()
        assert gc.isenabled()
        assert gc.get_freeze_count() > 0
        cycle = _Node()
        cycle.me = cycle  # only the collector can free a cycle
        gone = weakref.ref(cycle)
        del cycle
        gc.collect()
        assert gone() is None
    finally:
        gc.unfreeze()  # the rest of the suite runs with an ordinary heap


def test_warming_builds_the_structure_check_for_every_written_type() -> None:
    # Appointment alone reaches dozens of classes (Extension holds every data type).
    assert warm_models() > 100
