"""Shared fixtures: every database test runs on a SQLite file and on PostgreSQL, with the schema
built by the Alembic migrations. A test runs on one connection inside a transaction that is
rolled back after it (the app's commits release savepoints); a test marked `own_connections`
(a real server, a worker process, threads: more than one connection) commits for real and
the tables are emptied after it."""

from __future__ import annotations

import dataclasses
import logging
import os
import shutil
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from argon2 import PasswordHasher
from argon2.profiles import CHEAPEST
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import sessionmaker

from app.api.access_log import AccessLog
from app.api.metrics import Metrics
from app.auth import passwords
from app.auth.refusal_throttle import RefusalThrottle
from app.auth.scopes import ROLE_SCOPES
from app.main import create_app
from app.runtime import AppState, build_state
from app.services.access.users import add_user
from app.settings import Settings
from app.store.migrate import upgrade_head
from app.store.models import Base
from tests.auth_helpers import token_for
from tests.log_scan import Collector, personal_data

POSTGRES_ADMIN_URL = os.environ.get(
    "WNB_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
FIXED_NOW = datetime(2026, 6, 15, 12, 0, tzinfo=UTC)
PASSWORD = "correct horse battery"  # every test user's
TEST_SECRET = "a-signing-secret-for-the-test-suite-only-" + uuid.uuid4().hex
LOGS = Collector()


def pytest_configure(config: pytest.Config) -> None:
    root = logging.getLogger()
    root.addHandler(LOGS)
    root.setLevel(logging.INFO)  # what a production process logs at its default level
    # The test client's own request log is the test talking, not the service.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    # argon2's production cost (64 MiB and 3 passes: about 0.4 s a hash on a busy test machine)
    # is a defence, not a behaviour, and every test user, client and sign-in pays it. The suite
    # hashes with the parameters argon2 offers for tests; `production_hashing` puts the real
    # ones back where a test is about what they cost.
    passwords._hasher = PasswordHasher.from_parameters(CHEAPEST)
    passwords._dummy.cache_clear()
    if config.pluginmanager.hasplugin("xdist") and not hasattr(config, "workerinput"):
        # The controller of a parallel run: its own log is empty, the workers send theirs.
        config.pluginmanager.register(_WorkerLogs(), "wnb-worker-logs")


@pytest.fixture
def production_hashing() -> Iterator[None]:
    """argon2 with the service's own parameters, for a test about what hashing costs."""
    cheap = passwords._hasher
    passwords._hasher = PasswordHasher()
    passwords._dummy.cache_clear()
    try:
        yield
    finally:
        passwords._hasher = cheap
        passwords._dummy.cache_clear()


class _WorkerLogs:
    """What each pytest-xdist worker's log scan found (sent in its `workeroutput`), gathered
    on the controller, which judges the whole run's logs in its own `pytest_sessionfinish`."""

    def pytest_testnodedown(self, node: Any, error: object) -> None:
        output = getattr(node, "workeroutput", {})
        LOGGED.leaked.extend(output.get("leaked", []))
        LOGGED.lines += output.get("lines", 0)


@dataclasses.dataclass
class Logged:
    leaked: list[str] = dataclasses.field(default_factory=list)
    lines: int = 0


LOGGED = Logged()  # on the controller of a parallel run: what the workers' logs held


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """A test marked `postgres_only` is skipped on SQLite (it needs a server)."""
    for item in items:
        marker = item.get_closest_marker("postgres_only")
        callspec = getattr(item, "callspec", None)
        if marker and callspec and callspec.params.get("database_url") == "sqlite":
            item.add_marker(pytest.mark.skip(reason=f"PostgreSQL only: {marker.args[0]}"))


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """The suite fails if anything it logged carries personal data."""
    leaked = personal_data(LOGS.lines)
    workeroutput = getattr(session.config, "workeroutput", None)
    if workeroutput is not None:
        # A pytest-xdist worker: a worker's exit status does not fail the run, so the
        # controller judges what every worker saw.
        workeroutput["leaked"] = leaked[:20]
        workeroutput["lines"] = len(LOGS.lines)
        return
    leaked += LOGGED.leaked
    if leaked:
        print("\nPersonal data found in the logs:\n  " + "\n  ".join(leaked[:20]))
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
    elif (
        exitstatus == 0
        and not session.config.option.collectonly
        and session.testscollected >= 300
        and len(LOGS.lines) + LOGGED.lines < 10
    ):
        # The whole suite makes hundreds of requests: a near-silent log means the scan is blind.
        print("\nThe log scan saw almost nothing: is logging wired up?")
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def _postgres_database(template: str | None = None) -> Iterator[str]:
    """A new PostgreSQL database's URL (a copy of `template` when given), dropped after."""
    admin = make_url(POSTGRES_ADMIN_URL)
    name = f"wnb_test_{uuid.uuid4().hex[:10]}"
    copy = f' TEMPLATE "{template}"' if template else ""
    engine = create_engine(admin, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"{copy}'))
    try:
        yield admin.set(database=name).render_as_string(hide_password=False)
    finally:
        with engine.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        engine.dispose()


def _migrated(postgres: bool, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A migrated database's URL, dropped after (PostgreSQL) or left with the run's files."""
    if not postgres:
        path: Path = tmp_path_factory.mktemp("db") / "wnb.db"
        url = f"sqlite:///{path}"
        upgrade_head(url)
        yield url
        return
    gen = _postgres_database()
    url = next(gen)
    upgrade_head(url)
    yield url
    gen.close()


@pytest.fixture(scope="session", params=["sqlite", "postgres"])
def database_url(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    yield from _migrated(request.param == "postgres", tmp_path_factory)


@dataclasses.dataclass
class Databases:
    """Databases of a test's own (for a test that tampers with one), each a copy of one
    migrated once per run: a file copy (SQLite) or `CREATE DATABASE ... TEMPLATE`
    (PostgreSQL), where migrating each took 0.25-0.4 s."""

    template: str  # the URL of the database migrated once
    postgres: bool

    def new(self, where: Path) -> tuple[str, Callable[[], None]]:
        """A migrated database's URL, and how to drop it (`where`: a test's own directory)."""
        source = make_url(self.template).database or ""
        if not self.postgres:
            path = where / "own.db"
            shutil.copyfile(source, path)
            return f"sqlite:///{path}", lambda: None
        gen = _postgres_database(template=source)
        return next(gen), gen.close


@pytest.fixture(scope="session")
def databases(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Databases]:
    postgres = not database_url.startswith("sqlite")
    for url in _migrated(postgres, tmp_path_factory):
        yield Databases(url, postgres)


# Kept across tests that commit: the audit trail is append-only (the database refuses deletes)
# and the clients are registered once per database; every test names its own agents and
# patients. The subscription stamp's one row is the schema's, not a test's.
KEPT_TABLES = {
    "audit_event",
    "audit_entity",
    "audit_seal",
    "api_client",
    "used_assertion",
    "subscription_version",
}


def settings_for(database_url: str, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "database_url": database_url,
        "base_url": "http://testserver",
        "rate_limit_per_second": 1e6,
        "rate_limit_burst": 10**6,
        "auth_cache_seconds": 0,
        "credential_attempts_per_minute": 1e6,
        "credential_burst": 10**6,
        "address_attempts_per_minute": 1e6,
        "address_burst": 10**6,
        "secret_key": TEST_SECRET,
        **overrides,
    }
    return Settings(**values)  # type: ignore[arg-type]


@pytest.fixture(scope="session")
def session_state(database_url: str) -> Iterator[AppState]:
    state = build_state(settings_for(database_url))
    state.clock = lambda: FIXED_NOW
    yield state
    state.engine.dispose()


@pytest.fixture
def state(
    request: pytest.FixtureRequest, session_state: AppState, role_tokens: dict[str, str]
) -> Iterator[AppState]:
    """The app state for one test. `role_tokens` comes first: its clients commit for real,
    once, before a test's transaction holds SQLite's write lock."""
    session_state.clock = lambda: FIXED_NOW
    # Each test starts with no failed authentications counted against the test client's
    # address: refusals in one test must not throttle the next.
    settings = session_state.settings
    session_state.refusals = RefusalThrottle(
        settings.address_attempts_per_minute, settings.address_burst
    )
    if request.node.get_closest_marker("own_connections"):
        yield session_state
        _empty_tables(session_state)
        return
    with rolled_back(session_state) as state:
        yield state


@contextmanager
def rolled_back(state: AppState) -> Iterator[AppState]:
    """A copy of `state` whose sessions all run on one connection, in a transaction rolled
    back at the end: each session's commit releases a savepoint instead (SQLite takes them
    too: the engine issues BEGIN itself, pysqlite's own transaction handling is off)."""
    engine = state.engine
    with engine.connect() as conn:
        outer = conn.begin()

        def refuse(*_: Any) -> None:
            # A second connection would not see this test's rows (and on SQLite would wait
            # for its write lock): such a test must be marked own_connections.
            raise AssertionError("a second database connection: mark the test own_connections")

        event.listen(engine, "checkout", refuse)
        sessions = sessionmaker(
            conn, expire_on_commit=False, autoflush=False, join_transaction_mode="create_savepoint"
        )
        try:
            yield dataclasses.replace(state, writer=sessions, reader=sessions)
        finally:
            event.remove(engine, "checkout", refuse)
            outer.rollback()


def _empty_tables(state: AppState) -> None:
    with state.engine.begin() as conn:
        for table in reversed(Base.metadata.sorted_tables):
            if table.name not in KEPT_TABLES:
                conn.execute(table.delete())


@pytest.fixture(scope="session")
def role_tokens(session_state: AppState) -> dict[str, str]:
    """A bearer token per role, each got through POST /auth/token like a real client."""
    with TestClient(create_app(state=session_state)) as c:
        return {role: token_for(session_state, c, role=role) for role in ROLE_SCOPES}


@pytest.fixture(scope="session")
def session_app(session_state: AppState) -> FastAPI:
    """The app of the tests' clients, built once per database (building one costs tens of
    milliseconds, and most tests make one or two): `shared_app` lends it to one test at a time."""
    return create_app(state=session_state)


@pytest.fixture
def shared_app(session_app: FastAPI, session_state: AppState, state: AppState) -> Iterator[FastAPI]:
    """The app serving this test's `state`, with instruments of its own (no request counted
    by an earlier test). Everything else the app holds is routing, fixed at build time."""
    metrics = Metrics()
    (access_log,) = (m for m in session_app.user_middleware if m.cls is AccessLog)
    access_log.kwargs["metrics"] = metrics
    session_app.middleware_stack = None  # rebuilt on the first request, around `metrics`
    session_app.state.metrics = metrics
    session_app.state.wnb = state
    yield session_app
    session_app.state.wnb = session_state


@pytest.fixture
def client(shared_app: FastAPI, role_tokens: dict[str, str]) -> Iterator[TestClient]:
    """An admin's client: may do everything, so tests of behaviour are not tests of scopes."""
    with TestClient(shared_app) as c:
        c.headers["Authorization"] = f"Bearer {role_tokens['admin']}"
        yield c


@pytest.fixture
def nurse(state: AppState) -> str:
    """A nurse's user name, new for each test; the password is PASSWORD."""
    name = f"nurse-{uuid.uuid4().hex[:8]}"
    state.write(lambda s: add_user(s, name, PASSWORD, "nurse", state.clock()))
    return name


@pytest.fixture
def anonymous(shared_app: FastAPI) -> Iterator[TestClient]:
    with TestClient(shared_app) as c:
        yield c
