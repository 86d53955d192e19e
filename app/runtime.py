"""What a running process holds: settings, database sessions, terminology, the unit of work."""

from __future__ import annotations

import gc
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TypeVar

from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from app.auth.credential_throttle import CredentialThrottle
from app.auth.principal import Principal
from app.auth.rate_limit import RateLimiter
from app.auth.refusal_throttle import RefusalThrottle
from app.bundle_slots import BundleSlots
from app.fhir.errors import FhirError
from app.fhir.parse import warm_models
from app.fhir.terminology import Terminology, load_terminology
from app.group_commit import GroupCommit
from app.rules import RuleSet, load_rules
from app.services.access import audit
from app.services.access.authenticate import Authenticator
from app.services.common.answer import Answer
from app.services.common.unit_of_work import begin
from app.services.common.writes import WriteContext
from app.services.concerns.reconcile import ReconcileFailed, settle
from app.settings import Settings
from app.store.audit_key import AuditKeys, load_audit_keys
from app.store.db import make_engine, make_session_factory
from app.store.read_session import reading
from app.store.secret_file import load_or_create_secret, secret_path
from app.store.unchanged import commit_if_unchanged

T = TypeVar("T")
B = TypeVar("B")
WRITE_ATTEMPTS = 3
BUNDLES_AT_ONCE = Settings.model_fields["bundles_at_once"].default


def _utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass
class AppState:
    settings: Settings
    engine: Engine
    writer: sessionmaker[Session]
    reader: sessionmaker[Session]
    terms: Terminology
    rules: RuleSet | None
    auth: Authenticator
    limiter: RateLimiter
    credentials: CredentialThrottle
    refusals: RefusalThrottle
    clock: Callable[[], datetime] = field(default=_utc_now)
    secret_file: Path | None = None  # where the generated development secret is kept
    audit_keys: AuditKeys = field(default_factory=AuditKeys)  # keys the audit hash chain
    # Concurrent single writes committed together (None: each alone). Shared by copies of
    # the state; a group only ever holds writes of one state.
    group: GroupCommit | None = None
    # Bundles processed at once in this process (`bundles_at_once`); shared by copies of the
    # state, as the process's cores are.
    bundle_slots: BundleSlots = field(default_factory=lambda: BundleSlots(BUNDLES_AT_ONCE))

    @property
    def fhir_base(self) -> str:
        return f"{self.settings.base_url.rstrip('/')}/fhir"

    def write_context(self, author: tuple[str, str] | None = None) -> WriteContext:
        """A request's context: `author` (client|user, id) is stamped on every version a
        FHIR client's write stores."""
        return WriteContext(
            terms=self.terms,
            now=self.clock(),
            rules=self.rules,
            author=author,
            family_alert_size=self.settings.family_alert_size,
            future_miss_tolerance=timedelta(seconds=self.settings.future_miss_tolerance_seconds),
        )

    def write(self, use_case: Callable[[Session], T], ctx: WriteContext | None = None) -> T:
        """Run a use case in one transaction, reconcile the families it touched, and commit
        here, at the edge. A unique-key race or a deadlock with a concurrent request is
        retried: the second attempt sees the first's rows. Reconciliation judges with `ctx`,
        the context the use case was given (its `now`), on every attempt."""
        ctx = ctx or self.write_context()
        defer, races = False, 0
        while True:
            with self.writer() as session:
                begin(session, defer_reconcile=defer)
                try:
                    result = use_case(session)
                    settle(session, ctx, self.settings.reconcile_inline)
                    session.commit()
                    return result
                except ReconcileFailed:
                    # Once more, the families left marked for the worker: the facts commit.
                    session.rollback()
                    if defer:
                        raise
                    defer = True
                    continue
                except (IntegrityError, OperationalError) as exc:
                    session.rollback()
                    if isinstance(exc, OperationalError) and not _is_race(exc):
                        raise
                    races += 1
                    if races == WRITE_ATTEMPTS:
                        raise FhirError.one(
                            409,
                            "conflict",
                            "The resource was changed by another request "
                            "at the same time; send it again.",
                        ) from exc
                except Exception:
                    # A refusal found by a lookup wrote nothing: COMMIT keeps the
                    # connection's prepared statements (`unchanged`).
                    commit_if_unchanged(session)
                    raise

    def audited(
        self,
        who: Principal,
        note: audit.AuditNote,
        use_case: Callable[[Session], Answer[B]],
        ctx: WriteContext | None = None,
    ) -> Answer[B]:
        """Run a use case and record its AuditEvent, naming what the answer disclosed, in the
        same transaction: the record of a read or a write commits with it, or neither does.
        A refusal is recorded on its own. `ctx` as for `write`."""

        if not self.settings.audit_enabled:
            return self.write(use_case, ctx)

        def run(session: Session) -> Answer[B]:
            answer = use_case(session)
            # The audit record is one insert and takes no lock: the worker links it into the
            # hash chain after commit (app/store/audit_chain.py).
            note.references = answer.references
            audit.record(session, who, note, self.clock())
            return answer

        try:
            return self.write(run, ctx)
        except FhirError as exc:
            self.refused(who, note, exc)
            raise

    def checked(self, who: Principal, note: audit.AuditNote, check: Callable[[], T]) -> T:
        """What `check` returns (a step needing no database, run before a use case); its
        refusal is recorded as `audited` records a use case's."""
        try:
            return check()
        except FhirError as exc:
            if self.settings.audit_enabled:
                self.refused(who, note, exc)
            raise

    def refused(self, who: Principal, note: audit.AuditNote, exc: FhirError) -> None:
        outcome = "serious" if exc.status >= 500 else "minor"
        self.write(
            lambda s: audit.record(s, who, note, self.clock(), outcome, audit.refusal_text(exc))
        )

    def read(self, use_case: Callable[[Session], T]) -> T:
        with reading(self.reader) as session:  # ends with COMMIT: see `read_session`
            return use_case(session)


def _is_race(exc: OperationalError) -> bool:
    """A deadlock or serialization failure: PostgreSQL aborted one of two racing writers."""
    return getattr(exc.orig, "sqlstate", None) in ("40P01", "40001")


def build_state(settings: Settings) -> AppState:
    secret_file = None
    if settings.secret_key is None:  # development only: Settings refuses this elsewhere
        secret_file = secret_path(settings)
        settings = settings.model_copy(update={"secret_key": load_or_create_secret(secret_file)})
    engine = make_engine(settings)
    return AppState(
        settings=settings,
        engine=engine,
        writer=make_session_factory(engine),
        reader=make_session_factory(engine, readonly=True),
        terms=load_terminology(settings.rules_dir / "terminology.yaml"),
        rules=load_rules(settings.rules_dir) if settings.rules_enabled else None,
        auth=Authenticator(
            settings.secret_key or "",
            settings.auth_cache_seconds,
            timedelta(minutes=settings.session_idle_minutes),
            timedelta(minutes=settings.session_ttl_minutes),
        ),
        limiter=RateLimiter(settings.rate_limit_per_second, settings.rate_limit_burst),
        credentials=CredentialThrottle(
            settings.credential_attempts_per_minute,
            settings.credential_burst,
            settings.address_attempts_per_minute,
            settings.address_burst,
            settings.hashing_threads,
        ),
        refusals=RefusalThrottle(settings.address_attempts_per_minute, settings.address_burst),
        secret_file=secret_file,
        audit_keys=load_audit_keys(settings),
        group=(
            GroupCommit(settings.group_commit_max, settings.group_commit_leaders)
            if settings.group_commit_max > 1
            else None
        ),
        bundle_slots=BundleSlots(settings.bundles_at_once),
    )


def settle_heap() -> None:
    """Once a serving process has started (state built, app made), before it serves.

    What start-up built (modules, R4B's model classes and the structure check's tables, the
    rules, the app) lives as long as the process, yet each full collection of the garbage
    collector walks all of it again, in the middle of whichever request is running:
    bench/stages.py measured 0.25-0.4 ms per Bundle entry of them. Frozen (`gc.freeze`),
    it is left out of every later collection; what requests make is collected as before.
    """
    warm_models()
    gc.collect()
    gc.freeze()
