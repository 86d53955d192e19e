"""The FHIR Flag this service raises: one concern per child, its reasons as extensions.

Profile (documented in the README and the CapabilityStatement):
- `code`: `was-not-brought-concern` in the service's flag-code system; `code.text` the
  reasons' summaries.
- extension `wnb-flag-evidence`: the concern as a whole (priority, summary, review-state,
  outcome, age-uncertain, agency*, event*, family-member*).
- extension `wnb-concern-reason`, repeating: one per rule that holds for the child now (rule
  as a Coding in the rule system, rule-version, priority, summary, agency*, event*,
  family-member*, age-uncertain).
An agency reads the Flag with only the reasons that concern it (`for_agency`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from app.fhir.concern_state import ConcernState
from app.fhir.dates import fhir_instant
from app.fhir.priority import highest

FLAG_CATEGORY = {
    "system": "http://terminology.hl7.org/CodeSystem/flag-category",
    "code": "safety",
    "display": "Safety",
}
CONCERN_CODE = "was-not-brought-concern"
CONCERN_DISPLAY = "Was not brought concern"


EVIDENCE = "/StructureDefinition/wnb-flag-evidence"
REASON = "/StructureDefinition/wnb-concern-reason"


def evidence_url(canonical: str) -> str:
    return f"{canonical}{EVIDENCE}"


def reason_url(canonical: str) -> str:
    return f"{canonical}{REASON}"


def _is(extension: dict[str, Any], suffix: str) -> bool:
    url = extension.get("url")
    return isinstance(url, str) and url.endswith(suffix)


CONCERN_SYSTEM = "/CodeSystem/wnb-flag-code"


def concern_system(canonical: str) -> str:
    return f"{canonical}{CONCERN_SYSTEM}"


@dataclass(frozen=True)
class Reason:
    """One rule that holds for the child, as the concern row stores it."""

    rule: str
    version: int
    priority: str
    summary: str
    agencies: list[str]
    events: list[str]
    children: list[str]
    age_uncertain: bool = False
    title: str = ""  # the rule's description (the Coding's display)


def raised_flag(
    *,
    canonical: str,
    rule_system: str,
    flag_id: str,
    summary: str,
    priority: str,
    child_id: str,
    opened_at: datetime,
    closed_at: datetime | None,
    events: list[str],
    family: list[str],
    agencies: list[str],
    reasons: list[Reason],
    state: str = ConcernState.OPEN,
    outcome: str | None = None,
    age_uncertain: bool = False,
) -> dict[str, Any]:
    """`events` are "Appointment/id" references; `family` the children involved; `state` and
    `outcome` where the nurses' review has got to; `age_uncertain` when a birth date is
    partial and the age was decided on the side of the child."""
    evidence: list[dict[str, Any]] = [
        {"url": "priority", "valueCode": priority},
        {"url": "summary", "valueString": summary},
        {"url": "review-state", "valueCode": str(state)},
        *([{"url": "outcome", "valueCode": outcome}] if outcome else []),
        *([{"url": "age-uncertain", "valueBoolean": True}] if age_uncertain else []),
        *_facts(agencies, events, family, child_id),
    ]
    period = {"start": fhir_instant(opened_at)}
    if closed_at is not None:
        period["end"] = fhir_instant(closed_at)
    return {
        "resourceType": "Flag",
        "id": flag_id,
        "extension": [
            {"url": evidence_url(canonical), "extension": evidence},
            *(_reason(canonical, rule_system, r, child_id) for r in reasons),
        ],
        "identifier": [{"system": f"{canonical}/Id/raised-flag", "value": flag_id}],
        "status": "inactive" if closed_at else "active",
        "category": [{"coding": [FLAG_CATEGORY]}],
        "code": {
            "coding": [
                {
                    "system": concern_system(canonical),
                    "code": CONCERN_CODE,
                    "display": CONCERN_DISPLAY,
                }
            ],
            "text": summary or CONCERN_DISPLAY,
        },
        "subject": {"reference": f"Patient/{child_id}"},
        "period": period,
    }


def _facts(
    agencies: list[str], events: list[str], family: list[str], child_id: str
) -> list[dict[str, Any]]:
    return [
        *({"url": "agency", "valueCode": a} for a in agencies),
        *({"url": "event", "valueReference": {"reference": ref}} for ref in events),
        *(
            {"url": "family-member", "valueReference": {"reference": f"Patient/{pid}"}}
            for pid in family
            if pid != child_id
        ),
    ]


def _reason(canonical: str, rule_system: str, r: Reason, child_id: str) -> dict[str, Any]:
    rule = {"system": rule_system, "code": r.rule, "display": r.title or r.summary}
    return {
        "url": reason_url(canonical),
        "extension": [
            {"url": "rule", "valueCoding": rule},
            {"url": "rule-version", "valueInteger": r.version},
            {"url": "priority", "valueCode": r.priority},
            {"url": "summary", "valueString": r.summary},
            *([{"url": "age-uncertain", "valueBoolean": True}] if r.age_uncertain else []),
            *_facts(r.agencies, r.events, r.children, child_id),
        ],
    }


def for_agency(flag: dict[str, Any], agency_type: str) -> dict[str, Any]:
    """The Flag as an agency of `agency_type` may read it: only the reasons that name its
    type, and the concern's priority, summary, events, agencies and family members drawn
    from those reasons alone (a GP practice does not learn of a reason for social care).

    A concern none of whose reasons name the agency (every reason gone after a review
    included) shows its review state and outcome alone: its evidence came from reasons
    that are not the agency's. A Flag that is not a concern (a status Flag a source sent)
    is returned as it is, and so is a per-rule Flag written before concerns (in a concern's
    history) whose rule named the agency; one whose rule did not shows its review state
    alone, as a concern without reasons, its code no longer naming the rule."""
    exts = flag.get("extension") or []
    if not is_concern(flag):
        said = [s for x in exts if _is(x, EVIDENCE) for s in x.get("extension", ())]
        if not said or {"url": "agency", "valueCode": agency_type} in said:
            return flag
        flag = {**flag, "code": {"text": CONCERN_DISPLAY}}
    reasons = [x for x in exts if _is(x, REASON)]
    mine = [
        x
        for x in reasons
        if any(s == {"url": "agency", "valueCode": agency_type} for s in x.get("extension", ()))
    ]
    if reasons and len(mine) == len(reasons):
        return flag  # every reason concerns the agency: nothing to hide
    subs = [s for x in mine for s in x["extension"]]
    priorities = [s["valueCode"] for s in subs if s["url"] == "priority"]
    summaries = [s["valueString"] for s in subs if s["url"] == "summary"]
    kept = {"agency", "event", "family-member", "age-uncertain"}
    facts = list({_fact_key(s): s for s in subs if s["url"] in kept}.values())
    summary = "; ".join(summaries)
    # Without a reason of its own the agency learns neither priority nor summary: both
    # would be drawn from reasons that are not its.
    said = (
        [
            {"url": "priority", "valueCode": highest(priorities)},
            {"url": "summary", "valueString": summary},
        ]
        if mine
        else []
    )
    out = []
    for x in exts:
        if _is(x, EVIDENCE):
            state = [s for s in x["extension"] if s["url"] in ("review-state", "outcome")]
            facts.sort(key=lambda s: (s["url"], str(s)))
            out.append({"url": x["url"], "extension": [*said, *state, *facts]})
        elif not _is(x, REASON) or x in mine:
            out.append(x)
    code = {**flag["code"], "text": summary or CONCERN_DISPLAY}
    return {**flag, "extension": out, "code": code}


def is_concern(flag: dict[str, Any]) -> bool:
    """Whether a Flag is one of this service's concerns (by its code), not a source's."""
    codings = (flag.get("code") or {}).get("coding") or ()
    return any(
        c.get("code") == CONCERN_CODE and str(c.get("system", "")).endswith(CONCERN_SYSTEM)
        for c in codings
    )


def _fact_key(sub: dict[str, Any]) -> str:
    """A sub-extension's identity, for dropping repeats across reasons."""
    value = sub.get("valueCode") or (sub.get("valueReference") or {}).get("reference")
    return f"{sub['url']}|{value}"


def reasons_of(flag: dict[str, Any]) -> list[dict[str, str]]:
    """The reasons a concern Flag holds, in its order: each its `rule_id`, `priority` and
    `summary` (what a chronology shows of a past version)."""
    out = []
    for x in flag.get("extension") or ():
        if _is(x, REASON):
            subs = {s["url"]: s for s in x.get("extension", ())}
            out.append(
                {
                    "rule_id": (subs.get("rule") or {}).get("valueCoding", {}).get("code", ""),
                    "priority": (subs.get("priority") or {}).get("valueCode", ""),
                    "summary": (subs.get("summary") or {}).get("valueString", ""),
                }
            )
    return out


def concern_priority(flag: dict[str, Any]) -> str | None:
    """The concern's priority as the Flag gives it (its evidence extension), if it does."""
    for x in flag.get("extension") or ():
        if _is(x, EVIDENCE):
            for s in x.get("extension", ()):
                if s.get("url") == "priority":
                    return str(s.get("valueCode"))
    return None
