"""Client assertions against key sets that mix RSA and EC keys, and claims too big to store:
each is an OAuth error answer, never a 500 or an OperationOutcome. Both databases."""

from __future__ import annotations

import uuid
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from fastapi.testclient import TestClient

from app.runtime import AppState
from tests.auth_helpers import register
from tests.conftest import FIXED_NOW

TOKEN_URL = "http://testserver/auth/token"
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


def _rsa() -> tuple[Any, dict[str, Any]]:
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return private, jwt.algorithms.RSAAlgorithm.to_jwk(private.public_key(), as_dict=True)


def _ec() -> tuple[Any, dict[str, Any]]:
    private = ec.generate_private_key(ec.SECP384R1())
    return private, jwt.algorithms.ECAlgorithm.to_jwk(private.public_key(), as_dict=True)


def _grant(http: TestClient, private: Any, alg: str, client_id: str, **extra: Any) -> Any:
    headers = {"kid": extra.pop("kid")} if "kid" in extra else {}
    claims = {
        "iss": client_id,
        "sub": client_id,
        "aud": TOKEN_URL,
        "exp": int(FIXED_NOW.timestamp()) + 240,
        "jti": uuid.uuid4().hex,
        **extra,
    }
    assertion = jwt.encode(claims, private, algorithm=alg, headers=headers)
    return http.post(
        "/auth/token",
        data={
            "grant_type": "client_credentials",
            "client_assertion_type": ASSERTION_TYPE,
            "client_assertion": assertion,
        },
    )


def oauth_error(r: Any) -> str:
    assert r.status_code in (400, 401), r.text
    body = r.json()
    assert "resourceType" not in body
    return body["error"]


def test_a_kid_naming_an_ec_key_with_alg_rs384_is_refused(
    anonymous: TestClient, state: AppState
) -> None:
    _, ec_public = _ec()
    rsa_private, _ = _rsa()
    new = register(state, role="source", jwks={"keys": [{**ec_public, "kid": "k1"}]})
    r = _grant(anonymous, rsa_private, "RS384", new.client_id, kid="k1")
    assert oauth_error(r) == "invalid_client"


def test_a_key_set_without_kids_listing_rsa_before_ec(
    anonymous: TestClient, state: AppState
) -> None:
    _, rsa_public = _rsa()
    ec_private, ec_public = _ec()
    new = register(state, role="source", jwks={"keys": [rsa_public, ec_public]})
    r = _grant(anonymous, ec_private, "ES384", new.client_id)
    assert r.status_code == 200, r.text  # the EC key is found past the RSA one


def test_an_over_long_jti_is_an_oauth_error(anonymous: TestClient, state: AppState) -> None:
    ec_private, ec_public = _ec()
    new = register(state, role="source", jwks={"keys": [{**ec_public, "kid": "k1"}]})
    r = _grant(anonymous, ec_private, "ES384", new.client_id, kid="k1", jti="j" * 300)
    assert oauth_error(r) == "invalid_client"
    assert "jti" in r.json()["error_description"]
