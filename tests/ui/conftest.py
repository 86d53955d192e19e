"""The nurse's pages under test: a signed-in nurse, and a family whose flags fill the worklist.
FIXED_NOW is 2026-06-15T12:00Z; the rules are rules/default.yaml."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from tests.api.nurse_helpers import carer, noshow, only_flag, status_flag
from tests.factories import child, created_id, nhs_number, patient, post, sign_in


@dataclass(frozen=True)
class Family:
    """Two sisters of one mother. Ruby (on a CP plan since March) was not brought to dental
    twice; her younger sister Iris missed a GP appointment."""

    ruby: str
    iris: str
    ruby_nhs: str
    family_id: str
    flag: str  # Ruby's repeat-wnb flag


@pytest.fixture
def signed_in(shared_app: FastAPI, nurse: str) -> Iterator[TestClient]:
    with TestClient(shared_app) as c:
        r = sign_in(c, nurse)
        assert r.status_code == 303  # type: ignore[attr-defined]
        yield c


@pytest.fixture
def family(client: TestClient) -> Family:
    mother = nhs_number()
    ruby_nhs = nhs_number()
    ruby_body = patient(nhs=ruby_nhs, birth="2019-04-02", given="Ruby", family="Marsh")
    ruby = created_id(post(client, "Patient", ruby_body))
    iris = child(client, "2022-08-20", "Iris", "Marsh")
    carer(client, ruby, mother)
    carer(client, iris, mother)
    status_flag(client, ruby, "cp-plan", "2026-03-01")
    noshow(client, ruby, "2026-02-10", "dental")
    noshow(client, ruby, "2026-05-12", "dental")
    noshow(client, iris, "2026-05-20", "gp")
    family_id = client.get(f"/api/children/{ruby}/chronology").json()["family_id"]
    return Family(ruby, iris, ruby_nhs, family_id, only_flag(client, ruby, "repeat-wnb")["flag_id"])
