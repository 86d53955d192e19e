"""Routing tries each route in turn, so where the sources' writes sit is a cost on every one of
them: moving them first cut finding `POST /fhir/Appointment` from 151-178 to 35 us of CPU
(`bench/RESULTS.md`).
These tests pin that writes are found within the first few routes, and that moving them there
left every other path answered by the route it had before."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from starlette.routing import BaseRoute, Match

FIRST_FEW = 12


def _tried(routes: list[BaseRoute], scope: dict[str, Any]) -> tuple[int, BaseRoute | None]:
    """How many routes are tried before one matches fully, counting those inside an included
    router, and the route that matched."""
    tried = 0
    for route in routes:
        inner = getattr(route, "original_router", None)
        if inner is not None:
            found_in, found = _tried(inner.routes, dict(scope))
            tried += found_in
            if found is not None:
                return tried, found
            continue
        tried += 1
        match, _ = route.matches(dict(scope))
        if match == Match.FULL:
            return tried, route
    return tried, None


def _scope(app: FastAPI, method: str, path: str) -> dict[str, Any]:
    return {"type": "http", "method": method, "path": path, "root_path": "", "app": app}


@pytest.mark.parametrize(
    "path", ["/fhir", "/fhir/Appointment", "/fhir/Observation", "/fhir/Patient"]
)
def test_a_source_s_write_is_found_within_the_first_few_routes(
    session_app: FastAPI, path: str
) -> None:
    tried, route = _tried(session_app.router.routes, _scope(session_app, "POST", path))
    assert route is not None and getattr(route, "path", None) == path
    assert tried <= FIRST_FEW, f"POST {path} found after {tried} routes"


@pytest.mark.parametrize(
    ("method", "path", "expected"),
    [
        ("GET", "/fhir/metadata", "/fhir/metadata"),
        ("GET", "/fhir/Appointment/a1", "/fhir/Appointment/{rid}"),
        ("PUT", "/fhir/Appointment/a1", "/fhir/Appointment/{rid}"),
        ("GET", "/fhir/Flag/f1/_history/2", "/fhir/Flag/{rid}/_history/{vid}"),
        ("GET", "/fhir/AuditEvent", "/fhir/AuditEvent"),
        ("POST", "/fhir/Subscription", "/fhir/Subscription"),
        ("GET", "/fhir/Subscription/s1/$status", "/fhir/Subscription/{sid}/$status"),
        ("POST", "/fhir/$import", "/fhir/$import"),
        ("GET", "/fhir/.well-known/smart-configuration", "/fhir/.well-known/smart-configuration"),
        ("GET", "/health/ready", "/health/ready"),
        ("GET", "/api/worklist", "/api/worklist"),
    ],
)
def test_every_other_path_keeps_its_route(
    session_app: FastAPI, method: str, path: str, expected: str
) -> None:
    _, route = _tried(session_app.router.routes, _scope(session_app, method, path))
    assert route is not None and getattr(route, "path", None) == expected


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [
        ("DELETE", "/fhir/Appointment/a1", "PUT"),  # the first route whose path matches
        ("PATCH", "/fhir/Appointment", "POST"),
        ("DELETE", "/fhir", "POST"),
    ],
)
def test_a_wrong_method_is_still_405_naming_what_the_first_route_allows(
    client: TestClient, method: str, path: str, allowed: str
) -> None:
    r = client.request(method, path)
    assert r.status_code == 405, r.text
    assert r.headers.get("allow") == allowed
