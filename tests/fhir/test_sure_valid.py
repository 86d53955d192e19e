"""The service's structure check accepts and refuses exactly what fhir.resources R4B does.

`validate_structure` skips building the R4B model when `sure_valid.certainly_valid` vouches for
a resource. Over hand-written resources and Bundles and Hypothesis mutations of them (wrong
types, unknown fields, bad dates and codes, missing required elements, extra nesting), its
verdict must equal plain `model_validate`'s, and the walk must never vouch for a resource R4B
refuses. Function level, no HTTP: the HTTP side of refusals is the bad-input corpus's.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest
from fhir.resources.R4B import get_fhir_model_class
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from app.fhir.errors import FhirError
from app.fhir.parse import validate_structure
from app.fhir.sure_valid import certainly_valid

NHS = "https://fhir.nhs.uk/Id/nhs-number"

APPOINTMENT: dict[str, Any] = {
    "resourceType": "Appointment",
    "status": "noshow",
    "identifier": [{"system": "https://bench/appt", "value": "a-1"}],
    "serviceType": [{"coding": [{"system": "https://example.org/service", "code": "dental"}]}],
    "start": "2026-01-05T09:00:00Z",
    "end": "2026-01-05T09:20:00+01:00",
    "minutesDuration": 20,
    "participant": [
        {"actor": {"reference": "Patient/p1", "type": "Patient"}, "status": "accepted"},
        {"actor": {"identifier": {"system": NHS, "value": "9990000018"}}, "status": "declined"},
    ],
    "meta": {"lastUpdated": "2026-01-05T09:00:00.123Z", "versionId": "3"},
}
PATIENT: dict[str, Any] = {
    "resourceType": "Patient",
    "id": "child-1",
    "identifier": [{"system": NHS, "value": "9990000018"}],
    "name": [{"family": "Smith", "given": ["Ann", "Marie"], "use": "official"}],
    "gender": "female",
    "birthDate": "2019-02-28",
    "active": True,
    "generalPractitioner": [{"identifier": {"system": "https://ods", "value": "A81001"}}],
    "address": [{"postalCode": "LS1 4AP", "line": ["1 Road"], "period": {"start": "2019"}}],
    "extension": [{"url": "https://example.org/ext", "valueCode": "x"}],
    "text": {"status": "generated", "div": '<div xmlns="http://www.w3.org/1999/xhtml">x</div>'},
}
RELATED_PERSON: dict[str, Any] = {
    "resourceType": "RelatedPerson",
    "patient": {"reference": "Patient/child-1"},
    "identifier": [{"system": NHS, "value": "9990000026"}],
    "relationship": [
        {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v3-RoleCode", "code": "MTH"}]}
    ],
    "telecom": [{"system": "phone", "value": "0113 000 0000"}],
}
FLAG: dict[str, Any] = {
    "resourceType": "Flag",
    "status": "active",
    "category": [{"text": "safeguarding"}],
    "code": {"coding": [{"system": "https://example.org/flags", "code": "wnb"}], "text": "WNB"},
    "subject": {"reference": "Patient/child-1"},
    "period": {"start": "2026-01-05", "end": "2026-03-01T00:00:00Z"},
}
ORGANIZATION: dict[str, Any] = {
    "resourceType": "Organization",
    "identifier": [{"system": "https://fhir.nhs.uk/Id/ods-organization-code", "value": "A81001"}],
    "name": "Leeds Dental",
    "active": True,
    "alias": ["LD"],
    "type": [{"coding": [{"code": "prov"}]}],
}
SEEDS = (APPOINTMENT, PATIENT, RELATED_PERSON, FLAG, ORGANIZATION)


def _with(seed: dict[str, Any], **changes: Any) -> dict[str, Any]:
    out = copy.deepcopy(seed)
    for key, value in changes.items():
        if value is _DROP:
            out.pop(key, None)
        else:
            out[key] = value
    return out


_DROP = object()
HAND_WRITTEN = [
    *SEEDS,
    _with(APPOINTMENT, status=_DROP),  # missing required
    _with(APPOINTMENT, status=5),  # wrong type
    _with(APPOINTMENT, status="no show"),  # a code with a space is still a code
    _with(APPOINTMENT, status=" noshow"),  # bad code
    _with(APPOINTMENT, start="2026-02-30T09:00:00Z"),  # bad date
    _with(APPOINTMENT, start="2026-01-05T09:00:00"),  # no time zone
    _with(APPOINTMENT, start="2026-01-05"),  # an instant needs a time
    _with(APPOINTMENT, start="2016-12-31T23:59:60Z"),  # a leap second
    _with(APPOINTMENT, bogus=1),  # unknown field
    _with(APPOINTMENT, participant=[]),  # required 1..*, but R4B lets it be empty
    _with(APPOINTMENT, participant=None),
    _with(APPOINTMENT, participant={"status": "accepted"}),  # one where a list belongs
    _with(APPOINTMENT, participant=[None]),
    _with(APPOINTMENT, participant=[{"actor": {"reference": "Patient/p1"}}]),  # no status
    _with(APPOINTMENT, identifier=[[{"value": "x"}]]),  # extra nesting
    _with(APPOINTMENT, serviceType=[{"coding": {"code": "x"}}]),
    _with(APPOINTMENT, _status={"extension": [{"url": "u", "valueString": "x"}]}),
    _with(APPOINTMENT, fhir_comments="a comment"),
    _with(APPOINTMENT, minutesDuration="20"),
    _with(APPOINTMENT, minutesDuration=-1),
    _with(APPOINTMENT, minutesDuration=True),
    _with(APPOINTMENT, minutesDuration=2.5),
    _with(APPOINTMENT, resourceType="Patient"),
    _with(APPOINTMENT, contained=[PATIENT]),
    _with(PATIENT, birthDate="2019-13-01"),
    _with(PATIENT, birthDate="2019"),
    _with(PATIENT, birthDate="yesterday"),
    _with(PATIENT, active="true"),
    _with(PATIENT, active="yes"),
    _with(PATIENT, gender=""),
    _with(PATIENT, id="bad id"),
    _with(PATIENT, id="x" * 65),
    _with(PATIENT, name="Smith"),
    _with(PATIENT, name=[{"given": "Ann"}]),
    _with(PATIENT, name=[{"given": [None]}]),
    _with(PATIENT, deceasedBoolean=True, deceasedDateTime="2020-01-01"),  # two choices
    _with(PATIENT, multipleBirthInteger=2),
    _with(PATIENT, extension=[{"url": "https://x", "valueString": "a", "valueCode": "b"}]),
    _with(PATIENT, extension=[{"valueString": "a"}]),  # no url
    _with(RELATED_PERSON, patient=_DROP),
    _with(RELATED_PERSON, patient="Patient/child-1"),
    _with(RELATED_PERSON, patient={"reference": "Patient/child-1", "resourceType": "Reference"}),
    _with(FLAG, code=_DROP),
    _with(FLAG, subject={}),
    _with(FLAG, period={"start": "2026-01-05T25:00:00Z"}),
    _with(ORGANIZATION, alias=[5]),
    _with(ORGANIZATION, name={"text": "x"}),
]

# Values a careless or hostile client puts anywhere.
STRINGS = st.one_of(
    st.text(max_size=8),
    st.sampled_from(
        [
            "",
            " ",
            "x",
            "noshow",
            "no show",
            "2026-01-05",
            "2026-02-30",
            "2026-01",
            "2026",
            "2026-01-05T09:00:00Z",
            "2026-01-05T09:00:00",
            "2026-01-05T24:00:00Z",
            "2016-12-31T23:59:60Z",
            "2026-01-05T09:00:00.5+14:00",
            "true",
            "20",
            "-1",
            "1.5",
            "Patient/p1",
            "urn:uuid:6f1c7f3e-2f1a-4f7e-9a47-1a2b3c4d5e6f",
            "http://x",
            NHS,
            "9990000018",
            "a\x00b",
            "\u00e9",
            "x" * 70,
            "0113 000 0000",
            "male",
            "final",
        ]
    ),
)
ODD_VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**40), max_value=2**40),
    st.floats(allow_nan=True, allow_infinity=True),
    STRINGS,
    st.just({}),
    st.just([]),
    st.just([None]),
    st.sampled_from(
        [
            {"text": "x"},
            {"reference": "Patient/p1"},
            {"system": NHS, "value": "9990000018"},
            {"coding": [{"code": "x"}]},
            {"start": "2026-01-05"},
            {"url": "http://x", "valueString": "y"},
            {"extension": [{"url": "http://x", "valueString": "y"}]},
            {"value": 1, "unit": "d"},
        ]
    ),
)
KEYS = st.sampled_from(
    [
        "status",
        "start",
        "end",
        "id",
        "text",
        "code",
        "value",
        "system",
        "reference",
        "display",
        "identifier",
        "participant",
        "actor",
        "extension",
        "url",
        "valueString",
        "valueInteger",
        "valueBoolean",
        "birthDate",
        "gender",
        "name",
        "given",
        "family",
        "active",
        "period",
        "coding",
        "patient",
        "subject",
        "class",
        "class_fhir",
        "status__ext",
        "_status",
        "_given",
        "fhir_comments",
        "resourceType",
        "resource_type",
        "bogus",
        "minutesDuration",
        "deceasedBoolean",
        "deceasedDateTime",
        "modifierExtension",
        "contained",
        "meta",
    ]
)


def r4b_accepts(data: dict[str, Any]) -> bool:
    try:
        get_fhir_model_class(data["resourceType"]).model_validate(copy.deepcopy(data))
    except (ValidationError, TypeError, ValueError):
        return False
    return True


def service_accepts(data: dict[str, Any]) -> bool:
    try:
        validate_structure(copy.deepcopy(data))
    except FhirError as exc:
        assert exc.status == 400
        return False
    return True


def assert_same_verdict(data: dict[str, Any]) -> bool:
    """Both agree; returns whether the walk vouched for `data` (so the fast path ran)."""
    accepted = r4b_accepts(data)
    assert service_accepts(data) == accepted, data
    sure = certainly_valid(get_fhir_model_class(data["resourceType"]), copy.deepcopy(data))
    assert not sure or accepted, f"the walk vouched for a resource R4B refuses: {data}"
    return sure


@pytest.mark.parametrize("data", HAND_WRITTEN, ids=lambda d: str(sorted(d))[:60])
def test_hand_written_resources_get_r4b_s_verdict(data: dict[str, Any]) -> None:
    assert_same_verdict(data)


def test_the_seeds_take_the_fast_path() -> None:
    """Otherwise the mutations below would only ever compare R4B with itself."""
    for seed in SEEDS:
        assert r4b_accepts(seed)
        assert certainly_valid(get_fhir_model_class(seed["resourceType"]), seed), seed


def _nodes(node: Any) -> list[Any]:
    """Every dict and list inside `node`, `node` included."""
    found = [node] if isinstance(node, dict | list) else []
    children = node.values() if isinstance(node, dict) else node if isinstance(node, list) else ()
    for child in children:
        found += _nodes(child)
    return found


def _fresh(draw: st.DrawFn, values: st.SearchStrategy[Any]) -> Any:
    # st.just and sampled_from hand out the same object each time: mutating it must not leak.
    return copy.deepcopy(draw(values))


@st.composite
def mutated(draw: st.DrawFn) -> dict[str, Any]:
    data = copy.deepcopy(draw(st.sampled_from(SEEDS)))
    for _ in range(draw(st.integers(min_value=1, max_value=3))):
        target = draw(st.sampled_from(_nodes(data)))
        op = draw(
            st.sampled_from(["set", "swap", "swap", "drop", "wrap-list", "wrap-dict", "unwrap"])
        )
        if isinstance(target, list):
            if not target:
                target.append(_fresh(draw, ODD_VALUES))
                continue
            at: Any = draw(st.integers(min_value=0, max_value=len(target) - 1))
        else:
            known = sorted(target)
            at = draw(st.sampled_from(known) if known and op != "set" else KEYS)
            if op == "set" and draw(st.booleans()) and known:
                at = draw(st.sampled_from(known))
        if op == "drop":
            if isinstance(target, list):
                target.pop(at)
            else:
                target.pop(at, None)
            continue
        current = target[at] if isinstance(target, list) or at in target else None
        if op == "swap":  # one string for another: near the line between valid and not
            if isinstance(current, str):
                target[at] = draw(STRINGS)
        elif op == "set" or current is None:
            target[at] = _fresh(draw, ODD_VALUES)
        elif op == "wrap-list":
            target[at] = [current]
        elif op == "wrap-dict":
            target[at] = {draw(KEYS): current}
        elif isinstance(current, list) and current:
            target[at] = current[0]
        else:
            target[at] = _fresh(draw, ODD_VALUES)
    data.setdefault("resourceType", "Patient")
    if not isinstance(data["resourceType"], str) or not data["resourceType"]:
        data["resourceType"] = "Patient"
    return data


@settings(max_examples=1000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated())
def test_mutated_resources_get_r4b_s_verdict(data: dict[str, Any]) -> None:
    try:
        get_fhir_model_class(data["resourceType"])
    except (KeyError, ValueError):
        return  # not a resource type: refused before R4B is asked (test_bad_input_corpus)
    assert_same_verdict(data)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(mutated(), min_size=1, max_size=6))
def test_bundle_entries_get_r4b_s_verdict(resources: list[dict[str, Any]]) -> None:
    """A transaction Bundle's entries are checked one by one (`bundle.entry_request`); R4B's
    own Bundle, which builds each entry's resource as its type, refuses the Bundle exactly
    when one of those per-entry checks refuses."""
    resources = [r for r in resources if _is_resource_type(r["resourceType"])]
    bundle = {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            {
                "fullUrl": f"urn:uuid:00000000-0000-4000-8000-{i:012d}",
                "resource": r,
                "request": {"method": "POST", "url": r["resourceType"]},
            }
            for i, r in enumerate(resources)
        ],
    }
    for r in resources:
        assert_same_verdict(r)
    assert r4b_accepts(bundle) == all(service_accepts(r) for r in resources), bundle


def _is_resource_type(name: str) -> bool:
    try:
        get_fhir_model_class(name)
    except (KeyError, ValueError):
        return False
    return True
