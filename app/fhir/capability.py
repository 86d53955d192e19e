"""The CapabilityStatement: exactly what this server supports."""

from __future__ import annotations

from typing import Any

from app.fhir.index import SEARCH_PARAMS
from app.fhir.parse import WRITABLE_TYPES
from app.fhir.search_chain import chains_of
from app.fhir.search_query import INCLUDABLE
from app.fhir.subscription_topics import (
    IMPLEMENTATION_GUIDE,
    SERVER_CAPABILITIES,
    subscription_resource,
)

SEARCH_TYPE = {"token": "token", "string": "string", "date": "date", "reference": "reference"}


def capability_statement(base_url: str, version: str, date: str) -> dict[str, Any]:
    resources: list[dict[str, Any]] = [
        {
            "type": "AuditEvent",
            "interaction": [{"code": "search-type"}],
            "searchParam": [
                {"name": n, "type": t}
                for n, t in (
                    ("patient", "reference"),
                    ("entity", "reference"),
                    ("agent", "token"),
                    ("type", "token"),
                    ("subtype", "token"),
                    ("date", "date"),
                )
            ],
        },
        {
            "type": "CodeSystem",
            "interaction": [{"code": "read"}, {"code": "search-type"}],
            "searchParam": [
                {"name": "url", "type": "uri"},
                {"name": "_id", "type": "token"},
                {"name": "name", "type": "string"},
            ],
        },
    ]
    for type_name in WRITABLE_TYPES:
        params = SEARCH_PARAMS.get(type_name, {})
        resources.append(
            {
                "type": type_name,
                "interaction": [
                    {"code": c}
                    for c in (
                        "read",
                        "vread",
                        "update",
                        "create",
                        "search-type",
                        "history-instance",
                    )
                ],
                "versioning": "versioned",
                "readHistory": True,
                "updateCreate": True,
                "conditionalCreate": True,
                "conditionalUpdate": False,
                "conditionalDelete": "not-supported",
                "searchInclude": [f"{type_name}:{p}" for p in INCLUDABLE.get(type_name, ())],
                "searchParam": [
                    {"name": "_id", "type": "token"},
                    {"name": "_lastUpdated", "type": "date"},
                    *(_search_param(type_name, name, p.kind) for name, p in params.items()),
                ],
                **({"documentation": CONCERN_PROFILE} if type_name == "Flag" else {}),
            }
        )
    resources.append(subscription_resource())
    return {
        "resourceType": "CapabilityStatement",
        "status": "active",
        "date": date,
        "kind": "instance",
        "instantiates": [SERVER_CAPABILITIES],
        "software": {"name": "wnb", "version": version},
        "implementation": {
            "description": "Was Not Brought trigger service",
            "url": f"{base_url}/fhir",
        },
        "fhirVersion": "4.0.1",
        "format": ["application/fhir+json", "json"],
        "implementationGuide": [IMPLEMENTATION_GUIDE],
        "rest": [
            {
                "mode": "server",
                "resource": resources,
                "interaction": [{"code": "transaction"}, {"code": "batch"}],
                "security": {
                    "cors": False,
                    "service": [
                        {
                            "coding": [
                                {
                                    "system": "http://terminology.hl7.org/CodeSystem/restful-security-service",
                                    "code": "SMART-on-FHIR",
                                }
                            ]
                        }
                    ],
                    "description": "OAuth 2.0 client credentials (client secret or SMART Backend "
                    "Services private_key_jwt) with SMART v2 system scopes; see "
                    "/.well-known/smart-configuration.",
                    "extension": [
                        {
                            "url": "http://fhir-registry.smarthealthit.org/StructureDefinition/oauth-uris",
                            "extension": [{"url": "token", "valueUri": f"{base_url}/auth/token"}],
                        }
                    ],
                },
            }
        ],
    }


CONCERN_PROFILE = (
    "Besides the status Flags sources send (child protection plan, looked after, child in "
    "need), the service raises at most one active Flag per child: its was-not-brought "
    "concern (code was-not-brought-concern in CodeSystem wnb-flag-code, category safety). "
    "Its reasons are repeating wnb-concern-reason extensions, one per rule that holds for the "
    "child now (rule Coding in CodeSystem wnb-rule, rule-version, priority, summary, agency*, "
    "event*, family-member*); the wnb-flag-evidence extension gives the concern as a whole "
    "(priority, summary, review-state, outcome, agency*, event*, family-member*). An agency "
    "reads only the reasons that name its type."
)


def _search_param(type_name: str, name: str, kind: str) -> dict[str, Any]:
    # R4's searchParam has no `chain` element (that is R5): the chains a reference parameter
    # takes are stated in its documentation, the R4-valid place for them.
    param: dict[str, Any] = {"name": name, "type": SEARCH_TYPE[kind]}
    if chains := chains_of(type_name, name):
        param["documentation"] = (
            "Also chained: "
            + ", ".join(f"{c}=system|value" for c in chains)
            + " (the Patient carrying that identifier)."
        )
    return param
