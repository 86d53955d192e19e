"""Which flag changes a subscription topic carries."""

from __future__ import annotations

from app.fhir.subscription_topics import TOPICS


def carries(topic: str, kind: str) -> bool:
    """Whether a flag change of `kind` is an event of `topic`."""
    return kind in TOPICS.get(topic, frozenset())
