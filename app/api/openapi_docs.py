"""OpenAPI descriptions for routes that read raw FHIR JSON and free-form search parameters."""

from __future__ import annotations

from typing import Any

from app.fhir.index import SEARCH_PARAMS

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
    names = ["_id", "_lastUpdated", *SEARCH_PARAMS.get(type_name, {})]
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
    ]
    return {"parameters": params}


def fhir_responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    described = {
        200: "OK",
        201: "Created",
        400: "Bad request (OperationOutcome)",
        404: "Not found (OperationOutcome)",
        409: "Conflict (OperationOutcome)",
        412: "Precondition failed (OperationOutcome)",
        413: "Body too large (OperationOutcome)",
        415: "Not JSON (OperationOutcome)",
        422: "Business rule (OperationOutcome)",
    }
    return {
        c: {"description": described[c], "content": {FHIR_JSON: {"schema": {"type": "object"}}}}
        for c in codes
    }
