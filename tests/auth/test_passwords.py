"""The service hashes passwords and client secrets with argon2id at argon2's own default cost
(the suite hashes more cheaply: tests/conftest.py), and a hash of either cost verifies."""

from __future__ import annotations

import pytest

from app.auth.passwords import hash_secret, verify_secret


@pytest.mark.usefixtures("production_hashing")
def test_the_service_hashes_with_argon2id_at_the_default_cost() -> None:
    stored = hash_secret("correct horse battery")
    assert stored.startswith("$argon2id$v=19$m=65536,t=3,p=4$")
    assert verify_secret(stored, "correct horse battery")
    assert not verify_secret(stored, "wrong horse battery")
    assert not verify_secret(None, "correct horse battery")  # an unknown name never matches
