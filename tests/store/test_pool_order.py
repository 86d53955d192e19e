"""The service's PostgreSQL pool hands out the connection returned last (app/store/db.py): a
few connections carry the load, each with the hot statements prepared and planned once,
rather than every pooled connection preparing and planning each statement again."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import suppress

import pytest
from sqlalchemy import Connection, text
from sqlalchemy.orm import Session

from app.auth.tokens import AccessClaims
from app.fhir.errors import FhirError
from app.runtime import AppState, build_state
from app.services.access.authenticate import Unauthenticated
from app.store import rules_repo
from app.store.db import make_engine
from app.store.models import Family
from app.store.read_session import ReadWroteError
from tests.conftest import FIXED_NOW, settings_for


def _backend(conn: Connection) -> int:
    return int(conn.execute(text("SELECT pg_backend_pid()")).scalar_one())


def test_the_connection_returned_last_is_handed_out_first(database_url: str) -> None:
    if database_url.startswith("sqlite"):
        pytest.skip("PostgreSQL's pool")
    engine = make_engine(settings_for(database_url))
    try:
        with engine.connect() as first:
            with engine.connect() as second:
                earlier = _backend(second)
            later = _backend(first)  # `first` goes back to the pool after `second`
        with engine.connect() as next_one:
            assert _backend(next_one) == later != earlier
    finally:
        engine.dispose()


def _prepared_after(database_url: str, read: Callable[[AppState], object]) -> list[str]:
    """This state's prepared statements after a hot lookup was prepared, then `read` ran."""
    own = build_state(settings_for(database_url))
    try:
        with own.writer() as session:
            for _ in range(8):  # prepared on its sixth run
                rules_repo.events_of_children(session, ["nobody"])
            session.commit()
        with suppress(Unauthenticated):
            read(own)
        return own.read(
            lambda s: list(
                s.execute(text("SELECT statement FROM pg_prepared_statements")).scalars()
            )
        )
    finally:
        own.engine.dispose()


@pytest.mark.parametrize(
    "read",
    [
        pytest.param(lambda st: st.read(lambda s: s.execute(text("SELECT 1"))), id="a read"),
        pytest.param(
            lambda st: st.auth.session(st.reader, "no-such-session", FIXED_NOW), id="sign-in"
        ),
        pytest.param(
            lambda st: st.auth.principal(
                st.reader, AccessClaims("no-such-client", "system/*.read", "j", FIXED_NOW)
            ),
            id="a token's client",
        ),
        pytest.param(lambda st: _read_refused(st), id="a read that fails"),
    ],
)
def test_a_read_leaves_the_connections_prepared_statements(
    database_url: str, read: Callable[[AppState], object]
) -> None:
    """A read ends with COMMIT: a rollback would make psycopg deallocate every statement it
    prepared on the connection, the connection the next write is handed."""
    if database_url.startswith("sqlite"):
        pytest.skip("PostgreSQL's prepared statements")
    prepared = _prepared_after(database_url, read)
    assert any(p.startswith("SELECT coded_event.pk") for p in prepared)


def _read_refused(st: AppState) -> None:
    with pytest.raises(FhirError):
        st.read(_refused)


def test_a_read_that_leaves_a_change_and_fails_commits_nothing(state: AppState) -> None:
    def use_case(session: Session) -> None:
        session.add(Family(family_id="read-failed", created_at=FIXED_NOW))
        raise FhirError.one(404, "not-found", "no such resource")

    with pytest.raises(FhirError):
        state.read(use_case)
    assert state.read(lambda s: s.get(Family, "read-failed")) is None


def test_a_read_that_leaves_a_change_is_refused_and_commits_nothing(state: AppState) -> None:
    with pytest.raises(ReadWroteError):
        state.read(lambda s: s.add(Family(family_id="read-wrote", created_at=FIXED_NOW)))
    assert state.read(lambda s: s.get(Family, "read-wrote")) is None


def _refused(session: Session) -> None:
    rules_repo.events_of_children(session, ["nobody"])  # a lookup, then the refusal
    raise FhirError.one(422, "not-found", "no such Patient")


def test_a_refusal_that_wrote_nothing_leaves_the_prepared_statements(database_url: str) -> None:
    """A refused write ends with COMMIT when it changed nothing (`app/store/unchanged.py`):
    a rollback would cost the connection every statement psycopg prepared on it."""
    if database_url.startswith("sqlite"):
        pytest.skip("PostgreSQL's prepared statements")

    def refuse(st: AppState) -> None:
        with pytest.raises(FhirError):
            st.write(_refused)

    prepared = _prepared_after(database_url, refuse)
    assert any(p.startswith("SELECT coded_event.pk") for p in prepared)


def _family_then(family_id: str, how: str) -> Callable[[Session], None]:
    def use_case(session: Session) -> None:
        if how == "flushed":
            session.add(Family(family_id=family_id, created_at=FIXED_NOW))
            session.flush()
        elif how == "as SQL":  # as the bulk paths write: nothing the session tracks
            session.execute(
                text("INSERT INTO family (family_id, created_at) VALUES (:f, :at)"),
                {"f": family_id, "at": FIXED_NOW},
            )
        else:  # pending in the session, never flushed
            session.add(Family(family_id=family_id, created_at=FIXED_NOW))
        raise FhirError.one(422, "invalid", "refused after a change")

    return use_case


@pytest.mark.parametrize("how", ["flushed", "as SQL", "pending"])
@pytest.mark.own_connections
def test_a_refusal_after_a_change_commits_none_of_it(database_url: str, how: str) -> None:
    """Only a transaction that changed nothing is committed: one that wrote a row (through
    the ORM or as SQL), or left one pending in the session, rolls back as before."""
    own = build_state(settings_for(database_url))
    family_id = f"refused-{how.replace(' ', '-')}"
    try:
        with pytest.raises(FhirError):
            own.write(_family_then(family_id, how))
        assert own.read(lambda s: s.get(Family, family_id)) is None
    finally:
        own.engine.dispose()
