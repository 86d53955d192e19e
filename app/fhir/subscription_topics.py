"""The subscription topics this service advertises (canonical URLs) and the flag changes each
carries. Pure data: the CapabilityStatement and the notifier both read it."""

from __future__ import annotations

from typing import Any

TOPIC_BASE = "https://wnb.dev/fhir/SubscriptionTopic"
FLAG_RAISED = f"{TOPIC_BASE}/flag-raised"
FLAG_CHANGED = f"{TOPIC_BASE}/flag-changed"

# A reopened flag is a change of a flag the agency was already told about, not a new one.
TOPICS: dict[str, frozenset[str]] = {
    FLAG_RAISED: frozenset({"raised"}),
    FLAG_CHANGED: frozenset({"evidence-changed", "updated", "withdrawn", "closed", "reopened"}),
}

TOPIC_CANONICAL_EXTENSION = (
    "http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition/"
    "capabilitystatement-subscriptiontopic-canonical"
)


def subscription_resource() -> dict[str, Any]:
    """The CapabilityStatement entry for Subscription, advertising every topic."""
    return {
        "type": "Subscription",
        "extension": [
            {"url": TOPIC_CANONICAL_EXTENSION, "valueCanonical": topic} for topic in TOPICS
        ],
        "interaction": [
            {"code": "create"},
            {"code": "read"},
            {"code": "update"},
            {"code": "search-type"},
        ],
        "operation": [
            {
                "name": "status",
                "definition": "http://hl7.org/fhir/uv/subscriptions-backport/"
                "OperationDefinition/backport-subscription-status",
            }
        ],
    }
