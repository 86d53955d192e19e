"""The one place that reads the environment."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parent.parent


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="WNB_", env_file=".env", extra="ignore")

    database_url: str = Field(
        default="sqlite:///./wnb.db",
        description="SQLAlchemy URL; sqlite:///path for the embedded default, "
        "postgresql+psycopg://user@host/db in production.",
    )
    environment: str = Field(default="development", description="development or production")
    rules_dir: Path = Field(
        default=PROJECT_ROOT / "rules", description="Folder holding terminology and rule files."
    )
    rules_enabled: bool = Field(
        default=True, description="Evaluate trigger rules at ingest and in the worker."
    )
    due_check_seconds: int = Field(
        default=5,
        ge=1,
        description="How often the worker reconciles families that are due: a time-based "
        "rule's window closed, a new rules version, or a write whose reconciliation failed.",
    )
    audit_seal_seconds: int = Field(
        default=2,
        ge=1,
        description="How often the worker links newly committed AuditEvents into the audit "
        "trail's hash chain (until then the database's append-only triggers protect them).",
    )
    family_alert_size: int = Field(
        default=12,
        ge=2,
        description="A family of more patients than this is likely an unlisted shared carer "
        "identifier (a foster agency, a placeholder): an operator alert is raised and its "
        "family-level rules are held until an admin confirms the family or lists the "
        "identifier in never_link_carers.",
    )
    future_miss_tolerance_seconds: int = Field(
        default=300,
        ge=0,
        description="How far ahead of the server's clock a missed appointment may be dated "
        "(the sender's clock may run ahead); a miss dated later is refused with 422.",
    )
    reconcile_inline: bool = Field(
        default=True,
        description="Reconcile flags before a write's response (read your writes). False "
        "leaves every reconciliation to the worker (bulk loads; flags lag by seconds).",
    )
    group_commit_max: int = Field(
        default=32,
        ge=1,
        description="Most single writes committed as one unit of work (group commit): the "
        "writes waiting while the previous group ran. 1 commits each write alone.",
    )
    group_commit_leaders: int = Field(
        default=1,
        ge=1,
        description="Groups of single writes running at once in one process (each its own "
        "transaction): the others wait and join the next group.",
    )
    bundles_at_once: int = Field(
        default=2,
        ge=1,
        description="Transaction and batch Bundles processed at once in one process; the "
        "others wait their turn. Many at once only share the same cores, at a cost: 16 "
        "Bundles at once over two processes stored about a fifth fewer appointments a second "
        "than two at a time (bench/RESULTS.md).",
    )
    max_body_bytes: int = Field(default=10 * 1024 * 1024, description="Largest request body.")
    base_url: str = Field(
        default="http://127.0.0.1:8000", description="Public base URL used in links."
    )
    run_worker: bool = Field(
        default=True, description="Run the scheduler inside `wnb serve` (embedded default)."
    )
    metrics_public: bool = Field(
        default=False,
        description="Serve GET /metrics to any caller (default: loopback callers only).",
    )
    db_pool_size: int = Field(default=20, description="Connections per API process.")
    db_prepared_statements: bool = Field(
        default=True,
        description="Let psycopg prepare statements on the server (PostgreSQL). False behind a "
        "pooler in transaction mode (PgBouncer before 1.21): each connection's prepared "
        "statements would be sent to another client's server connection.",
    )
    db_listen_url: str | None = Field(
        default=None,
        description="A direct PostgreSQL URL (not through a pooler) for the worker's LISTEN "
        "wake-ups; default the database URL.",
    )
    default_page_size: int = Field(default=50, description="Search page size without _count.")
    max_page_size: int = Field(default=1000, description="Largest _count honoured.")
    log_level: str = Field(default="INFO")

    secret_key: str | None = Field(
        default=None,
        description="Signs access tokens. Must be set (32+ characters) outside development; "
        "unset in development, a random one is made and kept beside the database (mode 0600).",
    )
    audit_key: str | None = Field(
        default=None,
        description="Keys the audit trail's hash chain (HMAC-SHA256), 32+ characters, kept "
        "outside the database so that someone who can write the database cannot re-hash it. "
        "Required outside development (or WNB_AUDIT_KEY_FILE).",
    )
    audit_key_file: Path | None = Field(
        default=None,
        description="A file holding the audit chain's keys, one a line: the first seals, all "
        "verify (so a retired key still checks the rows it sealed). Instead of WNB_AUDIT_KEY.",
    )
    token_ttl_seconds: int = Field(default=300, ge=30, le=3600, description="Access token life.")
    auth_cache_seconds: float = Field(
        default=5.0, ge=0, description="How long a process trusts a client's not-revoked status."
    )
    session_ttl_minutes: int = Field(default=480, ge=5, description="Browser session life.")
    session_idle_minutes: int = Field(
        default=30, ge=1, description="A browser session unused this long ends."
    )
    lockout_attempts: int = Field(default=5, ge=1, description="Failed logins before lock-out.")
    lockout_minutes: int = Field(default=15, ge=1, description="How long a lock-out lasts.")
    rate_limit_per_second: float = Field(
        default=200.0, gt=0, description="Sustained requests per second per client or user."
    )
    audit_enabled: bool = Field(
        default=True,
        description="Benchmarks only: turns the audit trail off to measure its cost. "
        "Refused outside development.",
    )
    rate_limit_burst: int = Field(default=400, ge=1, description="Requests allowed in a burst.")
    webhook_allowed_networks: str = Field(
        default="",
        description="Comma-separated CIDRs webhooks may reach despite the SSRF guard, over plain "
        "http too (development and tests, e.g. 127.0.0.0/8). Empty in production.",
    )
    webhook_timeout_seconds: float = Field(
        default=15.0, gt=0, le=120, description="Time allowed for one delivery attempt."
    )
    webhook_retry_schedule: str = Field(
        default="0,5,300,1800,7200,18000,36000,50400,72000,86400",
        description="Seconds before each delivery attempt (the first is the initial attempt); "
        "after the last the message is dead-lettered.",
    )
    webhook_failures_before_error: int = Field(
        default=10, ge=1, description="Consecutive failures that put a subscription in error."
    )
    webhook_error_backlog: int = Field(
        default=1000,
        ge=0,
        description="Messages kept waiting for a subscription in error; the oldest beyond this "
        "are expired (dead, never sent; the agency fetches them with $events).",
    )
    webhook_error_backlog_hours: float = Field(
        default=72.0,
        gt=0,
        description="How long a message waits for a subscription in error before it expires.",
    )
    webhook_concurrency: int = Field(
        default=8, ge=1, description="Deliveries in flight per worker."
    )
    webhook_poll_seconds: float = Field(
        default=1.0, gt=0, description="How often a worker looks for due messages when not woken."
    )
    webhook_lease_margin_seconds: float = Field(
        default=30.0,
        ge=0,
        description="How long past its timeout a claimed delivery stays "
        "with its worker before another may take it (a worker that died mid-delivery).",
    )
    webhook_secret_overlap_hours: float = Field(
        default=24.0, ge=0, description="After a secret is rotated, sign with the old one too."
    )
    credential_attempts_per_minute: float = Field(
        default=12, gt=0, description="Token requests or sign-ins per client id or username."
    )
    credential_burst: int = Field(default=10, ge=1, description="Burst of the limit above.")
    address_attempts_per_minute: float = Field(
        default=120, gt=0, description="Token requests and sign-ins per client address."
    )
    address_burst: int = Field(default=60, ge=1, description="Burst of the limit above.")
    hashing_threads: int = Field(
        default=2, ge=1, description="Password and secret checks run at once (per process)."
    )
    max_bundle_entries: int = Field(
        default=1000, ge=1, description="Entries in one transaction or batch Bundle (413 beyond)."
    )
    query_max_repeats: int = Field(
        default=50, ge=1, description="Occurrences of one query parameter (400 beyond)."
    )
    query_max_values: int = Field(
        default=100, ge=1, description="Comma-separated values of one query parameter, in all."
    )
    query_max_value_length: int = Field(
        default=2048, ge=16, description="Characters in one query parameter value."
    )

    mllp_port: int | None = Field(
        default=None,
        ge=1,
        le=65535,
        description="Listen for HL7 v2 over MLLP on this port inside `wnb serve` (unset: no "
        "listener; `wnb mllp` runs one on its own).",
    )
    mllp_host: str = Field(
        default="127.0.0.1",
        description="Address the MLLP listener binds (0.0.0.0 for every interface).",
    )
    mllp_allowed_networks: str = Field(
        default="127.0.0.0/8,::1/128",
        description="Comma-separated CIDRs MLLP connections are accepted from; others are "
        "closed at once.",
    )
    mllp_tls_cert: Path | None = Field(
        default=None, description="PEM certificate: MLLP over TLS (with the key below)."
    )
    mllp_tls_key: Path | None = Field(default=None, description="PEM private key for TLS.")
    mllp_max_message_bytes: int = Field(
        default=1024 * 1024, ge=1024, description="Largest HL7 message (AR beyond)."
    )
    mllp_processing_ids: str = Field(
        default="P",
        description="MSH-11 processing ids taken (comma-separated: P production, T training, "
        "D debugging); others get AR, so a test feed cannot write into a live service.",
    )
    hl7_retention_days: int = Field(
        default=90,
        ge=1,
        description="Days the raw text of each HL7 message is kept for audit; its ACK is kept "
        "after, so a late re-send still gets the same answer.",
    )

    @model_validator(mode="after")
    def _no_default_secrets_outside_development(self) -> Settings:
        if self.secret_key is not None and len(self.secret_key) < 32:
            raise ValueError("WNB_SECRET_KEY must be 32+ characters")
        if self.environment != "development" and self.secret_key is None:
            raise ValueError(
                "WNB_SECRET_KEY must be set to a random value of 32+ characters outside "
                "development (e.g. python -c 'import secrets; print(secrets.token_urlsafe(48))')"
            )
        if self.audit_key is not None and len(self.audit_key) < 32:
            raise ValueError("WNB_AUDIT_KEY must be 32+ characters")
        if self.audit_key is not None and self.audit_key_file is not None:
            raise ValueError("set WNB_AUDIT_KEY or WNB_AUDIT_KEY_FILE, not both")
        if self.environment != "development" and (
            self.audit_key is None and self.audit_key_file is None
        ):
            raise ValueError(
                "WNB_AUDIT_KEY (or WNB_AUDIT_KEY_FILE) must be set outside development: it "
                "keys the audit trail's hash chain and must be kept outside the database"
            )
        if (self.mllp_tls_cert is None) != (self.mllp_tls_key is None):
            raise ValueError("WNB_MLLP_TLS_CERT and WNB_MLLP_TLS_KEY go together")
        if self.environment != "development" and not self.audit_enabled:
            raise ValueError("WNB_AUDIT_ENABLED=false is for benchmarks in development only")
        return self

    @property
    def is_development(self) -> bool:
        return self.environment == "development"

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")
