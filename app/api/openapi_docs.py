"""OpenAPI descriptions for routes that read raw FHIR JSON and free-form search parameters."""

from __future__ import annotations

from typing import Any

from app.fhir.index import SEARCH_PARAMS
from app.fhir.search_chain import chain_names

FHIR_JSON = "application/fhir+json"


def fhir_body(type_name: str) -> dict[str, Any]:
    schema = {
        "type": "object",
        "required": ["resourceType"],
        "properties": {"resourceType": {"type": "string", "enum": [type_name]}},
        "additionalProperties": True,
    }
    return {
        "requestBody": {
            "required": True,
            "content": {FHIR_JSON: {"schema": schema}, "application/json": {"schema": schema}},
        }
    }


def search_params(type_name: str) -> dict[str, Any]:
    names = ["_id", "_lastUpdated", *SEARCH_PARAMS.get(type_name, {}), *chain_names(type_name)]
    params = [
        {"name": n, "in": "query", "required": False, "schema": {"type": "string"}} for n in names
    ]
    params += [
        {
            "name": "_count",
            "in": "query",
            "required": False,
            "schema": {"type": "integer", "minimum": 0},
        },
        {
            "name": "_offset",
            "in": "query",
            "required": False,
            "schema": {"type": "integer", "minimum": 0},
        },
        {"name": "_sort", "in": "query", "required": False, "schema": {"type": "string"}},
        {"name": "_include", "in": "query", "required": False, "schema": {"type": "string"}},
        {
            "name": "_total",
            "in": "query",
            "required": False,
            "schema": {"type": "string", "enum": ["none", "estimate", "accurate"]},
        },
        {
            "name": "_totalMethod",
            "in": "query",
            "required": False,
            "description": "Aidbox's spelling of _total, as fhirpy's count() sends it",
            "schema": {"type": "string", "enum": ["count", "estimate", "none"]},
        },
    ]
    return {"parameters": params}


def fhir_responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    described = {
        200: "OK",
        201: "Created",
        202: "Accepted: poll the Content-Location (X-Progress while it runs)",
        400: "Bad request (OperationOutcome)",
        401: "Not authenticated (OperationOutcome, WWW-Authenticate)",
        403: "Scope does not allow it (OperationOutcome)",
        404: "Not found (OperationOutcome)",
        409: "Conflict (OperationOutcome)",
        412: "Precondition failed (OperationOutcome)",
        413: "Body too large (OperationOutcome)",
        415: "Content type not accepted (OperationOutcome)",
        422: "Business rule (OperationOutcome)",
        429: "Rate limited (OperationOutcome, Retry-After)",
    }
    return {
        c: {"description": described[c], "content": {FHIR_JSON: {"schema": {"type": "object"}}}}
        for c in codes
    }


OPEN_PATHS = {
    "/fhir/metadata",
    "/health",
    "/auth/token",
    "/.well-known/smart-configuration",
    "/fhir/.well-known/smart-configuration",
}


def add_security(schema: dict[str, Any]) -> dict[str, Any]:
    """Declare the OAuth 2.0 client credentials flow and mark every protected operation."""
    components = schema.setdefault("components", {})
    components["securitySchemes"] = {
        "oauth2": {
            "type": "oauth2",
            "flows": {
                "clientCredentials": {
                    "tokenUrl": "/auth/token",
                    "scopes": {
                        "system/*.cruds": "everything (admin)",
                        "system/Appointment.cu": "post appointment outcomes (source system)",
                        "system/Flag.rs": "read flags (agency)",
                    },
                }
            },
        },
        "bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"},
    }
    for path, operations in schema.get("paths", {}).items():
        for operation in operations.values():
            _bad_request_is_400(operation.setdefault("responses", {}))
            if path not in OPEN_PATHS:
                operation["security"] = [{"bearer": []}, {"oauth2": []}]
    return schema


def _bad_request_is_400(responses: dict[str, Any]) -> None:
    """FastAPI documents its parameter errors as 422; this service answers them with a 400
    OperationOutcome (422 is kept for business rules, where a route declares it)."""
    if responses.get("422", {}).get("description") == "Validation Error":
        del responses["422"]
        responses.setdefault(
            "400",
            {
                "description": "Bad request (OperationOutcome)",
                "content": {FHIR_JSON: {"schema": {"type": "object"}}},
            },
        )
