"""The token endpoint and access tokens: secrets, private_key_jwt, expiry, tampering, revocation."""

from __future__ import annotations

import time
import uuid
from datetime import timedelta
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from fastapi.testclient import TestClient

from app.runtime import AppState
from app.services.access.clients import revoke_client
from tests.auth_helpers import register
from tests.conftest import FIXED_NOW

TOKEN_URL = "http://testserver/auth/token"
GUESS = "an-attacker-guess-at-the-signing-key-32b"
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


def grant(http: TestClient, **form: str) -> Any:
    return http.post("/auth/token", data={"grant_type": "client_credentials", **form})


def test_client_secret_by_basic_and_by_form(anonymous: TestClient, state: AppState) -> None:
    new = register(state, role="nurse")
    basic = anonymous.post(
        "/auth/token",
        data={"grant_type": "client_credentials"},
        auth=(new.client_id, new.client_secret or ""),
    )
    form = grant(anonymous, client_id=new.client_id, client_secret=new.client_secret or "")
    for r in (basic, form):
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["token_type"] == "bearer" and body["expires_in"] == 300
        assert body["scope"] == new.scopes
        assert r.headers["cache-control"] == "no-store"


def test_wrong_secret_unknown_client_and_bad_grant(anonymous: TestClient, state: AppState) -> None:
    new = register(state, role="nurse")
    assert grant(anonymous, client_id=new.client_id, client_secret="nope").status_code == 401
    assert (
        grant(anonymous, client_id="ghost", client_secret="x").json()["error"] == "invalid_client"
    )
    assert grant(anonymous).status_code == 401
    r = anonymous.post("/auth/token", data={"grant_type": "password"})
    assert r.json()["error"] == "unsupported_grant_type"
    r = anonymous.post("/auth/token", json={"grant_type": "client_credentials"})
    assert r.status_code == 415


def test_scopes_are_narrowed_to_the_registration(anonymous: TestClient, state: AppState) -> None:
    new = register(state, scopes="system/Appointment.cu system/Patient.r")
    auth = (new.client_id, new.client_secret or "")
    wide = anonymous.post(
        "/auth/token",
        auth=auth,
        data={"grant_type": "client_credentials", "scope": "system/*.cruds"},
    )
    assert wide.json()["scope"] == "system/Appointment.cu system/Patient.r"
    none = anonymous.post(
        "/auth/token",
        auth=auth,
        data={"grant_type": "client_credentials", "scope": "system/Flag.rs"},
    )
    assert (none.status_code, none.json()["error"]) == (400, "invalid_scope")
    bad = anonymous.post(
        "/auth/token", auth=auth, data={"grant_type": "client_credentials", "scope": "everything"}
    )
    assert bad.json()["error"] == "invalid_scope"


def _token(http: TestClient, state: AppState, role: str = "nurse") -> tuple[str, str]:
    new = register(state, role=role)
    r = grant(http, client_id=new.client_id, client_secret=new.client_secret or "")
    return new.client_id, r.json()["access_token"]


def test_expired_token_is_refused(anonymous: TestClient, state: AppState) -> None:
    _, token = _token(anonymous, state)
    headers = {"Authorization": f"Bearer {token}"}
    assert anonymous.get("/fhir/Patient", headers=headers).status_code == 200
    state.clock = lambda: FIXED_NOW + timedelta(seconds=301)
    r = anonymous.get("/fhir/Patient", headers=headers)
    assert r.status_code == 401
    assert "expired" in r.json()["issue"][0]["diagnostics"]
    assert 'error="invalid_token"' in r.headers["www-authenticate"]


def test_tampered_token_is_refused(anonymous: TestClient, state: AppState) -> None:
    _, token = _token(anonymous, state)
    head, body, sig = token.split(".")
    claims = jwt.decode(token, options={"verify_signature": False})
    claims["scope"] = "system/*.cruds"
    forged_body = jwt.encode(claims, GUESS, algorithm="HS256").split(".")[1]
    for forged in (
        f"{head}.{forged_body}.{sig}",
        f"{head}.{body}.{sig[:-2]}xx",
        jwt.encode(claims, GUESS, algorithm="HS256"),
    ):
        r = anonymous.get("/fhir/AuditEvent", headers={"Authorization": f"Bearer {forged}"})
        assert r.status_code == 401


def test_revoked_client_loses_its_tokens(anonymous: TestClient, state: AppState) -> None:
    client_id, token = _token(anonymous, state)
    headers = {"Authorization": f"Bearer {token}"}
    assert anonymous.get("/fhir/Patient", headers=headers).status_code == 200
    state.write(lambda s: revoke_client(s, client_id, state.clock()))
    assert anonymous.get("/fhir/Patient", headers=headers).status_code == 401


def _keys(kind: str) -> tuple[Any, dict[str, Any], str]:
    if kind == "RS384":
        private: Any = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        public = jwt.algorithms.RSAAlgorithm.to_jwk(private.public_key(), as_dict=True)
    else:
        private = ec.generate_private_key(ec.SECP384R1())
        public = jwt.algorithms.ECAlgorithm.to_jwk(private.public_key(), as_dict=True)
    kid = uuid.uuid4().hex
    return private, {"keys": [{**public, "kid": kid, "alg": kind}]}, kid


def _assertion(private: Any, alg: str, kid: str, client_id: str, **override: Any) -> str:
    now = int(FIXED_NOW.timestamp())
    claims = {
        "iss": client_id,
        "sub": client_id,
        "aud": TOKEN_URL,
        "exp": now + 240,
        "jti": uuid.uuid4().hex,
        **override,
    }
    return jwt.encode(claims, private, algorithm=alg, headers={"kid": kid})


@pytest.mark.parametrize("alg", ["RS384", "ES384"])
def test_private_key_jwt(anonymous: TestClient, state: AppState, alg: str) -> None:
    private, jwks, kid = _keys(alg)
    new = register(state, role="source", jwks=jwks)
    assert new.client_secret is None
    assertion = _assertion(private, alg, kid, new.client_id)
    form = {"client_assertion_type": ASSERTION_TYPE, "client_assertion": assertion}
    ok = grant(anonymous, **form)
    assert ok.status_code == 200, ok.text
    replay = grant(anonymous, **form)
    assert replay.status_code == 401 and "used before" in replay.json()["error_description"]


@pytest.mark.parametrize(
    ("override", "reason"),
    [
        ({"aud": "https://elsewhere/token"}, "audience"),
        ({"exp": int(FIXED_NOW.timestamp()) + 600}, "5 minutes"),
        ({"exp": int(FIXED_NOW.timestamp()) - 10}, "expired"),
        ({"sub": "someone-else"}, "sub"),
    ],
)
def test_bad_assertions_are_refused(
    anonymous: TestClient, state: AppState, override: dict[str, Any], reason: str
) -> None:
    private, jwks, kid = _keys("ES384")
    new = register(state, role="source", jwks=jwks)
    assertion = _assertion(private, "ES384", kid, new.client_id, **override)
    r = grant(anonymous, client_assertion_type=ASSERTION_TYPE, client_assertion=assertion)
    assert r.status_code == 401
    assert (
        reason in r.json()["error_description"].lower() or reason in r.json()["error_description"]
    )


def test_assertion_signed_by_another_key(anonymous: TestClient, state: AppState) -> None:
    _, jwks, kid = _keys("ES384")
    other, _, _unused_kid = _keys("ES384")
    new = register(state, role="source", jwks=jwks)
    assertion = _assertion(other, "ES384", kid, new.client_id)
    r = grant(anonymous, client_assertion_type=ASSERTION_TYPE, client_assertion=assertion)
    assert r.status_code == 401


def test_hs256_assertion_is_refused(anonymous: TestClient, state: AppState) -> None:
    _, jwks, _kid = _keys("ES384")
    new = register(state, role="source", jwks=jwks)
    claims = {
        "iss": new.client_id,
        "sub": new.client_id,
        "aud": TOKEN_URL,
        "jti": "j",
        "exp": int(time.time()) + 60,
    }
    assertion = jwt.encode(claims, "a-shared-secret-of-sufficient-length!!", algorithm="HS256")
    r = grant(anonymous, client_assertion_type=ASSERTION_TYPE, client_assertion=assertion)
    assert r.status_code == 401 and "RS384 or ES384" in r.json()["error_description"]
