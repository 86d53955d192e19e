"""The nurse API's shapes are declared once: each use case returns the pydantic model its
route serves, so what the API sends is the use case's answer, dumped, and a drift is a
type error or a failure in the use case, never a 500 at the response."""

from __future__ import annotations

import uuid
from typing import get_type_hints

from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from pydantic import BaseModel

from app.api import case_routes, chronology_routes, nurse_routes
from app.runtime import AppState
from app.services.nurse.child_search import find_children
from app.services.nurse.chronology import child_chronology
from app.services.nurse.flag_view import flag_view
from app.services.nurse.shapes.chronology import ChildChronology, FlagItem
from app.services.nurse.shapes.concern import FlagDetail
from app.services.nurse.shapes.search import ChildSearch
from app.services.nurse.shapes.worklist import WorklistPage
from app.services.nurse.worklist import WorklistQuery, worklist
from tests.api.nurse_helpers import noshow, only_flag
from tests.factories import child


def test_every_nurse_route_returns_the_model_it_declares() -> None:
    """With mypy, which checks that a route returns what its use case's `Answer` holds."""
    declared = [
        r
        for router in (nurse_routes.router, chronology_routes.router, case_routes.router)
        for r in router.routes
        if isinstance(r, APIRoute)
        and isinstance(r.response_model, type)
        and issubclass(r.response_model, BaseModel)
    ]
    assert len(declared) >= 10  # worklist, flag, reviews, chronologies, owners, caseload, ...
    for route in declared:
        assert get_type_hints(route.endpoint)["return"] is route.response_model, route.path


def test_a_use_cases_answer_is_what_the_api_serves(client: TestClient, state: AppState) -> None:
    family = f"Sh{uuid.uuid4().hex[:6]}"
    pid = child(client, "2024-02-01", "Nia", family)
    noshow(client, pid, "2026-06-01")
    noshow(client, pid, "2026-06-08")
    flag_id = only_flag(client, pid, "repeat-wnb")["flag_id"]
    now = state.clock()
    query = WorklistQuery(count=100)

    page = state.read(lambda s: worklist(s, query, now)).body
    flag = state.read(lambda s: flag_view(s, flag_id, now)).body
    timeline = state.read(lambda s: child_chronology(s, pid, now)).body
    assert isinstance(page, WorklistPage) and isinstance(flag, FlagDetail)
    assert isinstance(timeline, ChildChronology)
    # Each validates into its model again without the API's help, to the same JSON.
    for body in (page, flag, timeline):
        dumped = body.model_dump(mode="json")
        assert type(body).model_validate(dumped).model_dump(mode="json") == dumped

    found = state.read(lambda s: find_children(s, f"Nia {family}", now.date())).body
    assert isinstance(found, ChildSearch) and [r.id for r in found.results] == [pid]
    assert found.results[0].nhs_number  # a search serves it: two children of one name
    served_search = client.get("/api/children", params={"q": f"Nia {family}"}).json()
    assert served_search == found.model_dump(mode="json")

    assert client.get("/api/worklist?_count=100").json() == page.model_dump(mode="json")
    assert client.get(f"/api/flags/{flag_id}").json() == flag.model_dump(mode="json")
    served = client.get(f"/api/children/{pid}/chronology").json()
    assert served == timeline.model_dump(mode="json")

    # What only the pages show is on the model and never served.
    assert flag.child.nhs_number and "nhs_number" not in served["child"]
    flags = [i for i in timeline.items if isinstance(i, FlagItem)]
    assert flags and all(i.reason_details for i in flags)
    assert not any("reason_details" in i for i in served["items"])
