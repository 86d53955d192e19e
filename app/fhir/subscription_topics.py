"""The subscription topics this service advertises (canonical URLs) and the flag changes each
carries. Pure data: the CapabilityStatement and the notifier both read it."""

from __future__ import annotations

from typing import Any

TOPIC_BASE = "https://wnb.dev/fhir/SubscriptionTopic"
FLAG_RAISED = f"{TOPIC_BASE}/flag-raised"
FLAG_CHANGED = f"{TOPIC_BASE}/flag-changed"

# A reopened flag is a change of a flag the agency was already told about, not a new one.
TOPICS: dict[str, frozenset[str]] = {
    # A concern raised, or an open concern that gained a reason (a rule it did not hold).
    FLAG_RAISED: frozenset({"raised", "reason-added"}),
    FLAG_CHANGED: frozenset(
        {"evidence-changed", "reason-added", "updated", "withdrawn", "closed", "reopened"}
    ),
}

BACKPORT_IG = "http://hl7.org/fhir/uv/subscriptions-backport"
# The Backport IG's canonical, and the server CapabilityStatement this one instantiates.
IMPLEMENTATION_GUIDE = f"{BACKPORT_IG}/ImplementationGuide/hl7.fhir.uv.subscriptions-backport"
SERVER_CAPABILITIES = f"{BACKPORT_IG}/CapabilityStatement/backport-subscription-server-r4"
SUBSCRIPTION_PROFILE = f"{BACKPORT_IG}/StructureDefinition/backport-subscription"
TOPIC_CANONICAL_EXTENSION = (
    "http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition/"
    "capabilitystatement-subscriptiontopic-canonical"
)


def subscription_resource() -> dict[str, Any]:
    """The CapabilityStatement entry for Subscription, advertising every topic."""
    return {
        "type": "Subscription",
        "supportedProfile": [SUBSCRIPTION_PROFILE],
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
            },
            {
                "name": "events",
                "definition": "http://hl7.org/fhir/uv/subscriptions-backport/"
                "OperationDefinition/backport-subscription-events",
            },
        ],
    }
