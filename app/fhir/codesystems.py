"""The code systems this service publishes, as FHIR R4 CodeSystem resources.

Pure builders: the terminology file and the loaded rules in, plain dicts out. Every code the
service writes (outcome tags on events, safeguarding statuses, the rule on a raised Flag) is
defined here, so a receiver can look up what a code means.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Any, Protocol

from app.fhir.errors import FhirError
from app.fhir.raised_flag import CONCERN_CODE, CONCERN_DISPLAY, concern_system
from app.fhir.terminology import CATEGORIES, STATUS_CODES, Terminology


class RuleConcept(Protocol):
    """What a rule's concept is built from. A structural type, so that app.fhir depends on
    nothing in the rule engine: `app.rules.Rule` has these attributes."""

    @property
    def id(self) -> str: ...
    @property
    def version(self) -> int: ...
    @property
    def priority(self) -> str: ...
    @property
    def scope(self) -> str: ...
    @property
    def enabled(self) -> bool: ...
    @property
    def description(self) -> str: ...


OUTCOME_ID, STATUS_ID, RULE_ID = "outcome-category", "safeguarding-status", "wnb-rule"
CONCERN_ID = "wnb-flag-code"
PUBLISHER = "wnb (Was Not Brought trigger service)"
INACTIVE = "http://hl7.org/fhir/concept-properties#inactive"
SEARCH_PARAMS = ("url", "_id", "name")
IGNORED_PARAMS = frozenset({"_format", "_pretty"})

OUTCOME_DEFINITIONS = {
    "was-not-brought": "A child (under the adult age on the day) was not brought to an "
    "appointment: the carer, not the child, is responsible for the missed care.",
    "did-not-attend": "An adult did not attend an appointment.",
    "no-access": "A home visit at which nobody answered or the practitioner was refused entry.",
    "carer-cancelled": "The appointment was cancelled by the patient or their carer.",
    "provider-cancelled": "The appointment was cancelled by the provider, or for a reason "
    "that is not the patient's or carer's.",
    "cancelled-unknown": "The appointment was cancelled and the source did not say by whom: "
    "neither the carer's nor the provider's cancellation can be assumed.",
    "attended": "The patient attended (arrived, was checked in, or the appointment was fulfilled).",
    "booked": "An appointment is booked (or pending) for the patient.",
}
STATUS_DISPLAYS = {
    "cp-plan": "Child protection plan",
    "looked-after": "Looked-after child",
    "child-in-need": "Child in need",
}
STATUS_DEFINITIONS = {
    "cp-plan": "The child is the subject of a child protection plan (after enquiries under "
    "section 47 of the Children Act 1989).",
    "looked-after": "The child is looked after by a local authority (section 22 of the "
    "Children Act 1989).",
    "child-in-need": "The child is assessed as a child in need (section 17 of the Children "
    "Act 1989).",
}


def outcome_category_system(terms: Terminology) -> dict[str, Any]:
    """The outcome categories every coded event falls into, with the displays written."""
    written = terms.written_codes
    concepts = [_concept(cat, written[cat].display, OUTCOME_DEFINITIONS[cat]) for cat in CATEGORIES]
    return _code_system(
        terms.outcome_system,
        OUTCOME_ID,
        "OutcomeCategory",
        "Appointment outcome category",
        "How the service classifies an appointment outcome for safeguarding. Incoming codes "
        "are mapped onto these by the partnership's terminology file.",
        concepts,
        version=str(terms.version),
    )


def safeguarding_status_system(terms: Terminology) -> dict[str, Any]:
    """The safeguarding statuses a child may hold (sent in as FHIR Flags)."""
    concepts = [
        _concept(code, STATUS_DISPLAYS[code], STATUS_DEFINITIONS[code]) for code in STATUS_CODES
    ]
    return _code_system(
        terms.status_system,
        STATUS_ID,
        "SafeguardingStatus",
        "Safeguarding status",
        "Statuses of a child that some trigger rules depend on; local codes are mapped onto "
        "these by the terminology file.",
        concepts,
        version=str(terms.version),
    )


def rule_system(terms: Terminology, rules: Sequence[RuleConcept]) -> dict[str, Any]:
    """One concept per trigger rule (a raised Flag's code). The display is the rule's
    description with its whitespace folded: exactly the display the service writes on a
    Flag, so a validator checking a Flag's coding against this system agrees with it."""
    concepts = []
    for rule in rules:
        text = " ".join(rule.description.split())
        properties: list[dict[str, Any]] = [
            {"code": "version", "valueInteger": rule.version},
            {"code": "priority", "valueCode": rule.priority},
            {"code": "scope", "valueCode": rule.scope},
        ]
        if not rule.enabled:
            properties.append({"code": "inactive", "valueBoolean": True})
        concepts.append({**_concept(rule.id, text, text), "property": properties})
    # Changes whenever a rule is added, removed or has its version bumped.
    digest = hashlib.sha256(
        ",".join(f"{r.id}:{r.version}:{r.enabled}" for r in rules).encode()
    ).hexdigest()[:12]
    resource = _code_system(
        terms.rule_system,
        RULE_ID,
        "WnbRule",
        "Was Not Brought trigger rule",
        "The partnership's trigger rules: the rule of each reason of a concern Flag.",
        concepts,
        version=digest,
    )
    resource["property"] = [
        {
            "code": "version",
            "description": "The rule's version, bumped whenever its meaning changes; a Flag "
            "names the version that raised it.",
            "type": "integer",
        },
        {"code": "priority", "description": "high, medium or low.", "type": "code"},
        {"code": "scope", "description": "child or family.", "type": "code"},
        {
            "code": "inactive",
            "uri": INACTIVE,
            "description": "The rule is switched off: it raises no new flags.",
            "type": "boolean",
        },
    ]
    return resource


def concern_code_system(terms: Terminology) -> dict[str, Any]:
    """The code of every Flag the service raises: one concern per child."""
    definition = (
        "A child's was-not-brought concern: the rules that hold for the child now are its "
        "reasons (extension wnb-concern-reason)."
    )
    return _code_system(
        concern_system(terms.canonical_base),
        CONCERN_ID,
        "WnbFlagCode",
        "Was Not Brought flag code",
        "The code of the Flags this service raises.",
        [_concept(CONCERN_CODE, CONCERN_DISPLAY, definition)],
        version="1",
    )


def code_systems(terms: Terminology, rules: Sequence[RuleConcept]) -> list[dict[str, Any]]:
    """Every code system the service publishes, in a stable order."""
    return [
        outcome_category_system(terms),
        safeguarding_status_system(terms),
        rule_system(terms, rules),
        concern_code_system(terms),
    ]


def search_bundle(
    systems: Sequence[dict[str, Any]], params: Sequence[tuple[str, str]], base: str
) -> dict[str, Any]:
    """A searchset Bundle of the `systems` matching `url`, `_id` and `name` (ANDed; a
    comma ORs values). 400 for any other parameter: silently ignoring one would widen the
    answer."""
    found = list(systems)
    for name, value in params:
        if name in IGNORED_PARAMS:
            continue
        if name not in SEARCH_PARAMS:
            raise FhirError.one(
                400,
                "not-supported",
                f"Unknown CodeSystem search parameter {name!r}; supported: url, _id, name.",
                name,
            )
        wanted = value.split(",")
        found = [s for s in found if _matches(s, name, wanted)]
    return {
        "resourceType": "Bundle",
        "type": "searchset",
        "total": len(found),
        "entry": [
            {
                "fullUrl": f"{base}/CodeSystem/{s['id']}",
                "resource": s,
                "search": {"mode": "match"},
            }
            for s in found
        ],
    }


def _matches(system: dict[str, Any], name: str, wanted: list[str]) -> bool:
    if name == "url":
        # A canonical may carry `|version`; without one any version matches.
        return any(
            system["url"] == url and (not version or system.get("version") == version)
            for url, _, version in (w.partition("|") for w in wanted)
        )
    if name == "_id":
        return system["id"] in wanted
    return any(system["name"].lower().startswith(w.lower()) for w in wanted)


def _concept(code: str, display: str, definition: str) -> dict[str, Any]:
    return {"code": code, "display": display, "definition": definition}


def _code_system(
    url: str,
    rid: str,
    name: str,
    title: str,
    description: str,
    concepts: list[dict[str, Any]],
    *,
    version: str,
) -> dict[str, Any]:
    return {
        "resourceType": "CodeSystem",
        "id": rid,
        "url": url,
        "version": version,
        "name": name,
        "title": title,
        "status": "active",
        "experimental": False,
        "publisher": PUBLISHER,
        "description": description,
        "caseSensitive": True,
        "content": "complete",
        "count": len(concepts),
        "concept": concepts,
    }
