"""What a log line may say about a request: its id and its route template, never its path
(paths carry resource ids) or query string (which carries NHS numbers and names)."""

from __future__ import annotations

import base64
import secrets

from starlette.types import Scope

REQUEST_ID_KEY = "wnb.request_id"
REQUEST_ID_HEADER = b"x-request-id"


def new_request_id() -> str:
    # Lower-case base32: no capitalised word a log scan could take for a name, and digits
    # 2-7 only, so practically never a run of ten that looks like an NHS number. Generated
    # here, never taken from the client, so a caller cannot write into the logs through it.
    return base64.b32encode(secrets.token_bytes(10)).decode().lower()


def request_id(scope: Scope) -> str:
    """The id the access log gave this request (set once, by the outermost middleware)."""
    rid = scope.get(REQUEST_ID_KEY)
    if rid is None:
        rid = scope[REQUEST_ID_KEY] = new_request_id()
    return rid


def route_of(scope: Scope) -> str:
    """The matched route's template (`/fhir/Patient/{rid}`), or a placeholder."""
    route = scope.get("route")
    return getattr(route, "path", None) or "(no route)"
