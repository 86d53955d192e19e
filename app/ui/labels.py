"""Plain English for the codes a page shows: flag states, outcomes, review actions, rules.
Any code not listed still reads sensibly ("evidence-changed" -> "Evidence changed"), so a new
state or rule added elsewhere never breaks a page."""

from __future__ import annotations

from collections.abc import Mapping

from app.fhir.concern_state import ConcernState
from app.services.nurse.organisation_names import shown
from app.services.nurse.sharing import METHODS

STATES: dict[str, str] = {
    ConcernState.OPEN: "New",
    ConcernState.ACKNOWLEDGED: "Acknowledged",
    ConcernState.EVIDENCE_CHANGED: "Evidence changed",
    ConcernState.WITHDRAWN: "Withdrawn",
    ConcernState.CLOSED: "Closed",
    "all": "Not closed",
}
# NHS tag colours by state: new work stands out, finished work recedes.
STATE_TAGS: dict[str, str] = {
    ConcernState.OPEN: "nhsuk-tag--red",
    ConcernState.ACKNOWLEDGED: "nhsuk-tag--blue",
    ConcernState.EVIDENCE_CHANGED: "nhsuk-tag--orange",
    ConcernState.WITHDRAWN: "nhsuk-tag--grey",
    ConcernState.CLOSED: "nhsuk-tag--grey",
}
CATEGORIES = {
    "was-not-brought": "Not brought",
    "did-not-attend": "Did not attend",
    "no-access": "No access at home visit",
    "carer-cancelled": "Cancelled by carer",
    "provider-cancelled": "Cancelled by service",
    "attended": "Attended",
    "booked": "Booked",
}
OUTCOMES = {
    "no-further-action": "No further action",
    "appointment-rebooked": "Appointment rebooked",
    "discussed-with-health-visitor": "Discussed with health visitor",
    "discussed-with-school-nurse": "Discussed with school nurse",
    "discussed-with-gp": "Discussed with GP",
    "discussed-with-social-worker": "Discussed with social worker",
    "referred-to-early-help": "Referred to early help",
    "referred-to-childrens-social-care": "Referred to children's social care",
    "referred-to-mash": "Referred to MASH",
    "other": "Other",
}
ACTIONS = {
    "acknowledge": "Acknowledged",
    "note": "Added a note",
    "outcome": "Recorded an outcome",
    "close": "Closed",
    "reopen": "Reopened",
    "withdraw": "Withdrawn by the system",
    "evidence-changed": "Evidence changed",
    "deceased": "Closed: the child has died",
}
RULES = {
    "protected-child": "Child on a plan not brought",
    "infant-wnb": "Baby not brought",
    "repeat-wnb": "Repeatedly not brought",
    "family-wnb": "Several children in the family not brought",
    "multi-service": "Not brought to several services",
    "carer-cancellations": "Repeated cancellations by carer",
    "not-rebooked": "Not rebooked after a missed appointment",
}
STATUSES = {
    "cp-plan": "Child protection plan",
    "looked-after": "Looked after",
    "child-in-need": "Child in need",
}
PRIORITIES = {"high": "High", "medium": "Medium", "low": "Low"}
# A reason's tag colour by priority (text stays readable: NHS tag colours pass contrast).
PRIORITY_TAGS = {"high": "nhsuk-tag--red", "medium": "nhsuk-tag--yellow", "low": "nhsuk-tag--grey"}
SHARING_METHODS = METHODS
RELATIONSHIPS = {
    "MTH": "Mother",
    "FTH": "Father",
    "GUARD": "Guardian",
    "PRN": "Parent",
    "STPMTH": "Stepmother",
    "STPFTH": "Stepfather",
    "GRMTH": "Grandmother",
    "GRFTH": "Grandfather",
    "FMRMTH": "Foster mother",
    "FMRFTH": "Foster father",
    "household-member": "Adult in the household",
}


def plain(value: str | None) -> str:
    """A code with no label: words, first letter capital."""
    if not value:
        return ""
    words = value.replace("-", " ").replace("_", " ").strip()
    return words[:1].upper() + words[1:]


def label(table: Mapping[str, str], value: str | None) -> str:
    found = table.get(value or "")
    return found if found is not None else plain(value)


FILTERS = {
    "state_label": lambda v: label(STATES, v),
    "state_tag": lambda v: STATE_TAGS.get(v or "", "nhsuk-tag--grey"),
    "category_label": lambda v: label(CATEGORIES, v),
    "outcome_label": lambda v: label(OUTCOMES, v),
    "action_label": lambda v: label(ACTIONS, v),
    "rule_label": lambda v: label(RULES, v),
    "concern_label": lambda v: "Was not brought concern" if v == "wnb-concern" else label(RULES, v),
    "status_label": lambda v: label(STATUSES, v),
    "method_label": lambda v: label(SHARING_METHODS, v),
    "priority_label": lambda v: label(PRIORITIES, v),
    "priority_class": lambda v: PRIORITY_TAGS.get(v or "", "nhsuk-tag--grey"),
    "relationship_label": lambda v: label(RELATIONSHIPS, v),
    # An item with `organisation` (a code) and `organisation_name`: "Riverside Surgery (A81001)".
    "organisation_label": lambda v: shown(v.organisation, v.organisation_name),
}
