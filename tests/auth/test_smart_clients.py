"""SMART discovery at the FHIR base and token requests as stock SMART clients make them."""

from __future__ import annotations

import dataclasses
import uuid
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from fastapi.testclient import TestClient
from fhirclient import client as smart_client
from fhirclient.models.patient import Patient

from app.runtime import AppState
from tests.auth_helpers import register
from tests.live_server import free_port, serve


@pytest.mark.parametrize(
    "path", ["/.well-known/smart-configuration", "/fhir/.well-known/smart-configuration"]
)
def test_discovery_at_the_root_and_at_the_fhir_base(anonymous: TestClient, path: str) -> None:
    r = anonymous.get(path)
    assert r.status_code == 200
    body = r.json()
    assert body["token_endpoint"] == "http://testserver/auth/token"
    assert body["code_challenge_methods_supported"] == ["S256"]
    assert "permission-v2" in body["capabilities"]


def _grant(http: TestClient, auth: tuple[str, str], scope: str) -> Any:
    form = {"grant_type": "client_credentials", "scope": scope}
    return http.post("/auth/token", auth=auth, data=form)


def test_a_wider_request_gets_the_part_the_client_holds(
    anonymous: TestClient, state: AppState
) -> None:
    new = register(state, scopes="system/Flag.rs system/Patient.r")
    auth = (new.client_id, new.client_secret or "")
    r = _grant(anonymous, auth, "launch/patient openid system/Flag.read system/Appointment.cu")
    assert r.status_code == 200, r.text
    assert r.json()["scope"] == "system/Flag.rs"
    # v1 `*` is every permission: narrowed to what is registered.
    assert _grant(anonymous, auth, "system/*.*").json()["scope"] == new.scopes
    nothing = _grant(anonymous, auth, "launch/patient system/Appointment.write")
    assert (nothing.status_code, nothing.json()["error"]) == (400, "invalid_scope")


def _key_pair() -> tuple[Any, dict[str, Any], str]:
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    public = jwt.algorithms.RSAAlgorithm.to_jwk(private.public_key(), as_dict=True)
    kid = uuid.uuid4().hex
    return private, {"keys": [{**public, "kid": kid, "alg": "RS384"}]}, kid


@pytest.mark.own_connections("a real server for a stock client")
def test_stock_fhirclient_with_backend_services(state: AppState) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    live = dataclasses.replace(state, settings=state.settings.model_copy(update={"base_url": base}))
    private, jwks, kid = _key_pair()
    agency = register(state, role="nurse", jwks=jwks)
    now = int(state.clock().timestamp())
    assertion = jwt.encode(
        {
            "iss": agency.client_id,
            "sub": agency.client_id,
            "aud": f"{base}/auth/token",
            "exp": now + 240,
            "jti": uuid.uuid4().hex,
        },
        private,
        algorithm="RS384",
        headers={"kid": kid},
    )
    with serve(live, port):
        # fhirclient puts `launch/patient` in front of the scope it is given, and this one is
        # in SMART v1 syntax: both used to be refused with invalid_scope.
        fhir = smart_client.FHIRClient(
            settings={
                "app_id": agency.client_id,
                "api_base": f"{base}/fhir/",
                "jwt_token": assertion,
                "scope": "system/Patient.read",
            }
        )
        fhir.prepare()
        fhir.authorize()
        assert fhir.server.auth.access_token
        assert fhir.launch_context["scope"] == "system/Patient.rs"
        found = list(Patient.where({"_id": "no-such-child"}).perform_resources_iter(fhir.server))
    assert found == []
