"""The bad-input corpus: requests a careless or hostile client sends, each with the status it
must get and where the OperationOutcome must point. Built from small tables so that adding a
case is one line."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import orjson

from tests.factories import patient

PATIENT_ID = "corpus-child"  # stored before each case: reads, PUTs and If-Match have a target
TYPES = ("Patient", "RelatedPerson", "Group", "Appointment", "Flag", "Observation")
NOT_A_STRING: tuple[Any, ...] = (5, 2.5, ["x"], {"x": 1}, True)
# Unicode digits (superscript, Arabic-Indic, mathematical, full-width) pass str.isdigit().
NOT_A_NUMBER = ("²", "٣", "\U0001d7d7", "\uff11", "-1", "1.0", "1e3", "0x10", " 1",
                "9999999999", "9" * 25)
BAD_DATES = ("yesterday", "2026-13-01", "2026-02-30", "20260101", "xx2026", "2026-01-01T25:00")


@dataclass(frozen=True)
class Case:
    name: str
    method: str
    path: str
    body: bytes | None = None
    headers: dict[str, str] = field(default_factory=dict)
    status: tuple[int, ...] = (400,)
    expression: str = ""  # must appear in one issue's expression

    def __str__(self) -> str:
        return self.name


def _json(data: Any) -> bytes:
    return orjson.dumps(data)


def _entry(**request: Any) -> dict[str, Any]:
    return {"request": {"method": "POST", "url": "Patient", **request}, "resource": patient()}


def _transaction(*entries: Any) -> bytes:
    return _json({"resourceType": "Bundle", "type": "transaction", "entry": list(entries)})


def _nested_extension(levels: int) -> bytes:
    """An extension holding an extension ... `levels` deep, as JSON text (orjson itself
    refuses to write past 255 levels)."""
    head = b'{"url": "https://example.org/x", "extension": ['
    leaf = b'{"url": "https://example.org/x", "valueString": "leaf"}'
    return head * levels + leaf + b"]}" * levels


def _with(data: dict[str, Any], key: str, raw: bytes) -> bytes:
    """`data` as JSON with `key` set to the raw JSON text `raw`."""
    return _json(data)[:-1] + b',"' + key.encode() + b'":' + raw + b"}"


def bundle_cases() -> list[Case]:
    cases = [
        Case(f"entry-request-is-{type(v).__name__}-{i}", "POST", "/fhir",
             _transaction({"request": v, "resource": patient()}), expression="entry[0].request")
        for i, v in enumerate(("x", 5, ["POST"], None, True))
    ]
    for key in ("url", "ifMatch", "ifNoneExist"):
        cases += [
            Case(f"entry-{key}-is-{type(v).__name__}", "POST", "/fhir",
                 _transaction(_entry(**{key: v})), expression=f"entry[0].request.{key}")
            for v in NOT_A_STRING
        ]
    cases += [
        Case(f"entry-fullUrl-is-{type(v).__name__}", "POST", "/fhir",
             _transaction({**_entry(), "fullUrl": v}), expression="entry[0].fullUrl")
        for v in NOT_A_STRING
    ]
    cases += [
        Case(f"entry-ifMatch-{v}", "POST", "/fhir",
             _transaction({"request": {"method": "PUT", "url": f"Patient/{PATIENT_ID}",
                                       "ifMatch": f'W/"{v}"'},
                           "resource": {**patient(), "id": PATIENT_ID}}),
             expression="entry[0].request.ifMatch")
        for v in NOT_A_NUMBER
    ]
    cases += [
        Case(f"entry-ifNoneExist-{q}", "POST", "/fhir",
             _transaction(_entry(ifNoneExist=q)), expression="If-None-Exist")
        for q in ("_count=²", "shoe-size=9", "&", "birthdate=yesterday")
    ]
    cases += [
        Case(f"entry-method-{m}", "POST", "/fhir", _transaction(_entry(method=m)),
             expression="entry[0].request.method")
        for m in ("DELETE", "GET", "post", 5, None)
    ]
    cases += [
        Case(f"entry-put-id-{label}", "POST", "/fhir",
             _transaction({"request": {"method": "PUT", "url": f"Patient/{rid}"},
                           "resource": {**patient(), "id": rid}}),
             expression="entry[0].request.url")
        for label, rid in (("65-chars", "x" * 65), ("underscore", "a_b"), ("space", "a b"),
                           ("non-ascii", "é"))
    ]
    cases += [
        Case("bundle-type-searchset", "POST", "/fhir",
             _json({"resourceType": "Bundle", "type": "searchset"}), expression="Bundle.type"),
        Case("bundle-entry-not-a-list", "POST", "/fhir",
             _json({"resourceType": "Bundle", "type": "batch", "entry": {}}),
             expression="Bundle.entry"),
        Case("bundle-entry-not-an-object", "POST", "/fhir", _transaction(5),
             expression="entry[0]"),
        Case("bundle-entry-without-resource", "POST", "/fhir",
             _transaction({"request": {"method": "POST", "url": "Patient"}}),
             expression="entry[0].resource"),
        Case("bundle-entry-unwritable-type", "POST", "/fhir",
             _transaction({"request": {"method": "POST", "url": "Practitioner"},
                           "resource": {"resourceType": "Practitioner"}}),
             expression="entry[0].request.url"),
        Case("bundle-nested-too-deep", "POST", "/fhir",
             _json({"resourceType": "Bundle", "type": "transaction"})[:-1]
             + b',"entry":[{"request":{"method":"POST","url":"Patient"},"resource":'
             + _with(patient(), "extension", b"[" + _nested_extension(150) + b"]") + b"}]}",
             expression="Bundle.entry[0].resource.extension"),
    ]
    return cases


def search_cases() -> list[Case]:
    cases = []
    for type_name in TYPES:
        for param in ("_count", "_offset"):
            cases += [
                Case(f"{type_name}-{param}-{v!r}", "GET",
                     f"/fhir/{type_name}?{param}={v}", expression=param)
                for v in NOT_A_NUMBER
            ]
        cases += [
            Case(f"{type_name}-unknown-param", "GET", f"/fhir/{type_name}?shoe-size=9",
                 expression="shoe-size"),
            Case(f"{type_name}-unknown-param-strict", "GET",
                 f"/fhir/{type_name}?_filter=x",
                 headers={"Prefer": "handling=strict"}, expression="_filter"),
            Case(f"{type_name}-bad-total-method", "GET",
                 f"/fhir/{type_name}?_totalMethod=guess", expression="_totalMethod"),
            Case(f"{type_name}-bad-handling", "GET", f"/fhir/{type_name}",
                 headers={"Prefer": "handling=sloppy"}, expression="Prefer"),
            Case(f"{type_name}-bad-sort", "GET", f"/fhir/{type_name}?_sort=shoe",
                 expression="_sort"),
            Case(f"{type_name}-bad-total", "GET", f"/fhir/{type_name}?_total=lots",
                 expression="_total"),
            Case(f"{type_name}-bad-summary", "GET", f"/fhir/{type_name}?_summary=true",
                 expression="_summary"),
            Case(f"{type_name}-bad-include", "GET",
                 f"/fhir/{type_name}?_include=Practitioner:x", expression="_include"),
            Case(f"{type_name}-empty-id", "GET", f"/fhir/{type_name}?_id=", expression="_id"),
            Case(f"{type_name}-nul", "GET", f"/fhir/{type_name}?_id=a%00b", expression="query"),
        ]
        cases += [
            Case(f"{type_name}-lastUpdated-{v}", "GET", f"/fhir/{type_name}?_lastUpdated={v}",
                 expression="_lastUpdated")
            for v in BAD_DATES
        ]
    cases += [
        Case(f"Appointment-date-{v}", "GET", f"/fhir/Appointment?date=ge{v}",
             expression="date")
        for v in BAD_DATES
    ]
    cases += [
        Case("Patient-bad-modifier", "GET", "/fhir/Patient?family:exact=x",
             expression="family:exact"),
        Case("Patient-empty-token", "GET", "/fhir/Patient?identifier=|", expression="identifier"),
        Case("Patient-birthdate-empty-or", "GET", "/fhir/Patient?birthdate=2020,",
             expression="birthdate"),
    ]
    return cases


def resource_cases() -> list[Case]:
    p = f"/fhir/Patient/{PATIENT_ID}"
    good = {**patient(), "id": PATIENT_ID}
    cases = [
        Case(f"vread-{v!r}", "GET", f"{p}/_history/{v}", status=(404,),
             expression="meta.versionId")
        for v in NOT_A_NUMBER
    ]
    cases += [
        Case(f"if-match-{v!r}", "PUT", p, _json(good), {"If-Match": f'W/"{v}"'},
             expression="If-Match")
        for v in NOT_A_NUMBER
    ]
    cases += [
        Case(f"if-none-exist-{q!r}", "POST", "/fhir/Patient", _json(patient()),
             {"If-None-Exist": q}, expression="If-None-Exist")
        for q in ("_count=²", "_offset=٣", "shoe-size=9", "birthdate=yesterday", "_sort=shoe")
    ]
    cases += [
        Case(f"put-id-{label}", "PUT", f"/fhir/Patient/{rid}", _json({**patient(), "id": rid}),
             expression="Patient.id")
        for label, rid in (("65-chars", "x" * 65), ("underscore", "a_b"), ("dollar", "a$b"),
                           ("tilde", "a~b"))
    ]
    cases += [
        Case("put-id-differs", "PUT", p, _json({**patient(), "id": "other"}),
             expression="Patient.id"),
        Case("nested-extension-150", "POST", "/fhir/Patient",
             _with(patient(), "extension", b"[" + _nested_extension(150) + b"]"),
             expression="Patient.extension"),
        Case("nested-array-300", "POST", "/fhir/Patient",
             _with(patient(), "name", b"[" * 300 + b"]" * 300), expression="Patient.name"),
        Case("integer-past-64-bits", "POST", "/fhir/Patient",
             _with(patient(), "multipleBirthInteger", str(2**70).encode()),
             expression="multipleBirthInteger"),
        Case("integer-past-32-bits", "POST", "/fhir/Patient",
             _json({**patient(), "multipleBirthInteger": 2**40}),
             expression="multipleBirthInteger"),
        Case("nul-in-text", "POST", "/fhir/Patient",
             b'{"resourceType": "Patient", "name": [{"family": "a\\u0000b"}]}',
             expression="Patient.name[0].family"),
        Case("wrong-resource-type", "POST", "/fhir/Patient", _json({"resourceType": "Flag"}),
             expression="resourceType"),
        Case("no-resource-type", "POST", "/fhir/Patient", _json({"name": []}),
             expression="resourceType"),
        Case("unknown-element", "POST", "/fhir/Patient", _json({**patient(), "shoe": 9}),
             expression="Patient.shoe"),
        Case("gender-outside-value-set", "POST", "/fhir/Patient",
             _json({**patient(), "gender": "x"}), expression="Patient.gender"),
        Case("birth-date-a-number", "POST", "/fhir/Patient",
             _json({**patient(), "birthDate": 20200101}), expression="Patient.birthDate"),
        Case("invalid-nhs-number", "POST", "/fhir/Patient", _json(patient("9434765918")),
             status=(422,), expression="Patient.identifier[0].value"),
        Case("future-birth-date", "POST", "/fhir/Patient",
             _json(patient(birth="2099-01-01")), status=(422,), expression="birthDate"),
        Case("not-json-type", "POST", "/fhir/Patient", b"<Patient/>",
             {"Content-Type": "text/xml"}, status=(415,), expression="Content-Type"),
        Case("no-content-type", "POST", "/fhir/Patient", _json(patient()),
             {"Content-Type": ""}, status=(415,), expression="Content-Type"),
    ]
    return cases


def all_cases() -> list[Case]:
    return [*bundle_cases(), *search_cases(), *resource_cases()]
