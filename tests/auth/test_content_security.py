"""The Content Security Policy runs no inline script and nothing from another origin, on the
API and on the sign-in page. Both databases."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient


def directives(header: str) -> dict[str, list[str]]:
    out = {}
    for part in header.split(";"):
        name, *values = part.split()
        out[name] = values
    return out


def test_scripts_come_only_from_the_app(anonymous: TestClient) -> None:
    for path in ("/login", "/fhir/metadata"):
        policy = directives(anonymous.get(path).headers["content-security-policy"])
        assert policy["script-src"] == ["'self'"], policy
        assert policy["object-src"] == ["'none'"] and policy["base-uri"] == ["'none'"]
        origins = [v for values in policy.values() for v in values if "://" in v]
        assert origins == [], origins  # no third-party origin anywhere
    page = anonymous.get("/login").text
    scripts = re.findall(r"<script([^>]*)>", page)
    # Nothing on our pages that the policy would block: every script is a file of the app's.
    assert all(re.search(r'src="/', attrs) for attrs in scripts), scripts


def test_a_planted_sign_in_cookie_cannot_pass_the_csrf_check(anonymous: TestClient) -> None:
    planted = "a" * 43  # the attacker sets the cookie and sends the same value in the form
    anonymous.cookies.set("wnb_login_csrf", planted)
    r = anonymous.post("/login", follow_redirects=False, data={
        "username": "someone", "password": "anything at all", "csrf_token": planted})
    assert r.status_code == 403
