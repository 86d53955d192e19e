"""Access tokens (signed by this server) and SMART client assertions (signed by the client)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import jwt
from jwt import PyJWKSet

ISSUER = "wnb"
TOKEN_ALGORITHM = "HS256"
ASSERTION_ALGORITHMS = ("RS384", "ES384")
ASSERTION_MAX_LIFETIME = timedelta(minutes=5)
KEY_TYPE_OF = {"RS384": "RSA", "ES384": "EC"}
USED_ASSERTION_ID_LENGTH = 255  # the width of used_assertion.jti


class TokenError(Exception):
    """A token or assertion that must be refused; the message is safe to show the caller."""


@dataclass(frozen=True)
class AccessClaims:
    client_id: str
    scope: str
    jti: str
    expires_at: datetime


def issue_access_token(
    secret: str, client_id: str, scope: str, now: datetime, ttl_seconds: int
) -> tuple[str, int]:
    """A signed access token and its lifetime in seconds."""
    claims = {
        "iss": ISSUER,
        "sub": client_id,
        "scope": scope,
        "jti": uuid.uuid4().hex,
        "iat": int(now.timestamp()),
        "exp": int(now.timestamp()) + ttl_seconds,
    }
    return jwt.encode(claims, secret, algorithm=TOKEN_ALGORITHM), ttl_seconds


def verify_access_token(secret: str, token: str, now: datetime) -> AccessClaims:
    """The claims of a token this server issued; TokenError if expired, forged or altered."""
    try:
        claims = jwt.decode(
            token,
            secret,
            algorithms=[TOKEN_ALGORITHM],
            issuer=ISSUER,
            options={"require": ["exp", "sub", "scope", "jti"], "verify_exp": False},
        )
    except jwt.PyJWTError as exc:
        raise TokenError("the access token is not valid") from exc
    verified = AccessClaims(
        claims["sub"],
        claims["scope"],
        claims["jti"],
        datetime.fromtimestamp(claims["exp"], tz=now.tzinfo),
    )
    check_expiry(verified, now)
    return verified


def check_expiry(claims: AccessClaims, now: datetime) -> None:
    """TokenError once the token has expired (its `exp` second included)."""
    if claims.expires_at.timestamp() <= now.timestamp():
        raise TokenError("the access token has expired")


def read_assertion_issuer(assertion: str) -> str:
    """The unverified `iss` of a client assertion: only to find whose keys to verify it with."""
    try:
        claims = jwt.decode(assertion, options={"verify_signature": False})
    except jwt.PyJWTError as exc:
        raise TokenError("client_assertion is not a JWT") from exc
    issuer = claims.get("iss")
    if not isinstance(issuer, str) or not issuer:
        raise TokenError("client_assertion has no iss")
    return issuer


def verify_client_assertion(
    assertion: str, jwks: dict[str, Any], client_id: str, token_url: str, now: datetime
) -> tuple[str, datetime]:
    """Check a SMART Backend Services assertion; its (jti, exp) for replay protection.

    iss and sub must be the client id, aud the token URL, exp at most 5 minutes ahead, and the
    signature RS384 or ES384 by one of the client's registered keys.
    """
    try:
        header = jwt.get_unverified_header(assertion)
        keys = PyJWKSet.from_dict(jwks).keys
    except jwt.PyJWTError as exc:
        raise TokenError("client_assertion or the registered key set is unreadable") from exc
    alg = header.get("alg")
    if alg not in ASSERTION_ALGORITHMS:
        raise TokenError("client_assertion must be signed RS384 or ES384")
    # Only keys of the algorithm's family: an EC key handed to the RSA verifier (a kid naming
    # the wrong key, or a key set without kids) raised an error no one caught.
    candidates = [
        k
        for k in keys
        if header.get("kid") in (None, k.key_id) and k.key_type == KEY_TYPE_OF[alg]
    ]
    jti_max = USED_ASSERTION_ID_LENGTH
    for key in candidates:
        try:
            claims = jwt.decode(
                assertion,
                key.key,
                algorithms=[header["alg"]],
                audience=token_url,
                issuer=client_id,
                options={"require": ["exp", "jti", "sub", "iss", "aud"], "verify_exp": False},
            )
        except jwt.InvalidSignatureError:
            continue
        except jwt.PyJWTError as exc:
            raise TokenError(f"client_assertion refused: {exc}") from exc
        except (TypeError, ValueError) as exc:  # a key the library cannot use for this alg
            raise TokenError("client_assertion cannot be checked with the registered key") from exc
        if not isinstance(claims["jti"], str) or not 0 < len(claims["jti"]) <= jti_max:
            raise TokenError(f"client_assertion jti must be a string of 1 to {jti_max} characters")
        return _check_assertion_claims(claims, client_id, now)
    raise TokenError("client_assertion is not signed by a registered key")


def _check_assertion_claims(
    claims: dict[str, Any], client_id: str, now: datetime
) -> tuple[str, datetime]:
    if claims["sub"] != client_id:
        raise TokenError("client_assertion sub must equal iss (the client id)")
    exp = datetime.fromtimestamp(claims["exp"], tz=now.tzinfo)
    if exp <= now:
        raise TokenError("client_assertion has expired")
    if exp > now + ASSERTION_MAX_LIFETIME:
        raise TokenError("client_assertion exp is more than 5 minutes ahead")
    return str(claims["jti"]), exp
