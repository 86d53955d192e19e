"""People signing in: session cookie, CSRF on forms, lock-out, sign-out."""

from __future__ import annotations

import re
import uuid

import pytest
from fastapi.testclient import TestClient

from app.runtime import AppState
from app.services.access.users import add_user
from tests.conftest import PASSWORD
from tests.factories import csrf_of, sign_in


def test_sign_in_sets_a_safe_cookie_and_opens_the_api(anonymous: TestClient, nurse: str) -> None:
    r = sign_in(anonymous, nurse)
    assert r.status_code == 303  # type: ignore[attr-defined]
    cookie = r.headers["set-cookie"]  # type: ignore[attr-defined]
    assert "wnb_session=" in cookie and "HttpOnly" in cookie and "SameSite=strict" in cookie
    assert anonymous.get("/fhir/Patient").status_code == 200
    assert anonymous.get("/fhir/AuditEvent").status_code == 403  # nurses do not read the audit
    assert nurse in anonymous.get("/").text


def test_secure_cookie_outside_development(
    anonymous: TestClient, nurse: str, state: AppState
) -> None:
    state.settings.environment = "production"
    try:
        r = sign_in(anonymous, nurse)
    finally:
        state.settings.environment = "development"
    assert "Secure" in r.headers["set-cookie"]  # type: ignore[attr-defined]


def test_login_without_the_form_token_is_refused(anonymous: TestClient, nurse: str) -> None:
    anonymous.get("/login")
    r = anonymous.post(
        "/login",
        data={"username": nurse, "password": PASSWORD, "csrf_token": "forged"},
        follow_redirects=False,
    )
    assert r.status_code == 403
    assert anonymous.get("/fhir/Patient").status_code == 401


def test_logout_needs_the_csrf_token_and_ends_the_session(
    anonymous: TestClient, nurse: str
) -> None:
    sign_in(anonymous, nurse)
    page = anonymous.get("/").text
    refused = anonymous.post("/logout", data={"csrf_token": "forged"}, follow_redirects=False)
    assert refused.status_code == 403
    assert anonymous.get("/fhir/Patient").status_code == 200
    done = anonymous.post("/logout", data={"csrf_token": csrf_of(page)}, follow_redirects=False)
    assert done.status_code == 303
    anonymous.cookies.clear()
    assert anonymous.get("/fhir/Patient").status_code == 401


def test_lock_out_after_repeated_failures(
    anonymous: TestClient, nurse: str, state: AppState
) -> None:
    for _ in range(state.settings.lockout_attempts):
        assert sign_in(anonymous, nurse, "wrong password!").status_code == 401  # type: ignore[attr-defined]
    locked = sign_in(anonymous, nurse)  # the right password, refused while paused
    ghost = sign_in(anonymous, "nobody-at-all", "not the password")
    assert locked.status_code == ghost.status_code == 401  # type: ignore[attr-defined]
    assert "session" not in locked.headers.get("set-cookie", "")  # type: ignore[attr-defined]
    assert _message(locked.text) == _message(ghost.text)  # type: ignore[attr-defined]


def _message(page: str) -> str:
    """The error the sign-in page shows (in its error summary)."""
    m = re.search(r'error-summary__list"><li><a [^>]*>([^<]+)<', page)
    assert m, "the page shows no error"
    return m.group(1)


def test_unknown_user_and_wrong_password_look_the_same(anonymous: TestClient, nurse: str) -> None:
    wrong = sign_in(anonymous, nurse, "not the password")
    ghost = sign_in(anonymous, "nobody-at-all", "not the password")
    assert wrong.status_code == ghost.status_code == 401  # type: ignore[attr-defined]
    assert "Wrong username or password" in wrong.text  # type: ignore[attr-defined]
    assert "Wrong username or password" in ghost.text  # type: ignore[attr-defined]


def test_weak_password_and_unknown_role_are_refused(state: AppState) -> None:
    with pytest.raises(ValueError, match="12 characters"):
        state.write(lambda s: add_user(s, "short", "short", "nurse", state.clock()))
    with pytest.raises(ValueError, match="role"):
        state.write(lambda s: add_user(s, "x-role", PASSWORD, "superuser", state.clock()))


def test_a_signed_in_browser_needs_its_csrf_token_to_write(
    anonymous: TestClient, state: AppState
) -> None:
    name = f"admin-{uuid.uuid4().hex[:8]}"
    state.write(lambda s: add_user(s, name, PASSWORD, "admin", state.clock()))
    sign_in(anonymous, name)
    token = csrf_of(anonymous.get("/").text)
    body = {"resourceType": "Patient", "birthDate": "2020-01-01"}
    headers = {"Content-Type": "application/fhir+json"}
    refused = anonymous.post("/fhir/Patient", json=body, headers=headers)
    assert refused.status_code == 403
    assert refused.json()["issue"][0]["expression"] == ["X-CSRF-Token"]
    ok = anonymous.post("/fhir/Patient", json=body, headers={**headers, "X-CSRF-Token": token})
    assert ok.status_code == 201
    assert anonymous.get("/fhir/Patient").status_code == 200  # reads need no token
