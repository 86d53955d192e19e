"""A concern's (raised flag's) review state: one typed value. Whether a concern is open follows
from its state alone, here; the stored `is_open` column (indexed for the worklist and the
one-open-concern-per-child index) is always written from `ConcernState.is_open`, so the two
cannot disagree. Pure (no database) so the FHIR Flag, the services and the store share it."""

from __future__ import annotations

from enum import StrEnum


class ConcernState(StrEnum):
    OPEN = "open"  # raised, not yet looked at
    ACKNOWLEDGED = "acknowledged"  # a nurse has seen it
    EVIDENCE_CHANGED = "evidence-changed"  # reviewed, then its evidence changed: still open
    CLOSED = "closed"  # closed by a nurse
    WITHDRAWN = "withdrawn"  # closed by the service: its rule no longer held

    @property
    def is_open(self) -> bool:
        """Still waiting for a decision: on the worklist, and the child's one open concern."""
        return self not in _CLOSED


_CLOSED = frozenset({ConcernState.CLOSED, ConcernState.WITHDRAWN})

# In declaration order, for filters and API enumerations.
OPEN_STATES: tuple[ConcernState, ...] = tuple(s for s in ConcernState if s.is_open)
CLOSED_STATES: tuple[ConcernState, ...] = tuple(s for s in ConcernState if not s.is_open)


def state_values(state: ConcernState) -> dict[str, ConcernState | bool]:
    """The `state` and `is_open` column values of a concern moved to `state`: the one way a
    write sets either."""
    return {"state": state, "is_open": state.is_open}
