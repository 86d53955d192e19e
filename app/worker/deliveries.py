"""Webhook delivery in the worker: the dispatcher loop on its own thread, woken on commit
(in-process signal; PostgreSQL LISTEN for commits made by other processes), polling as the
fallback for retries that come due."""

from __future__ import annotations

import logging
import threading

import httpx
import psycopg
from sqlalchemy.engine import make_url

from app.notify import wake
from app.notify.dispatcher import DeliveryConfig, Dispatcher
from app.notify.retry import RetryPolicy, parse_schedule
from app.notify.ssrf import parse_networks
from app.runtime import AppState

log = logging.getLogger("wnb.worker")


def delivery_config(state: AppState) -> DeliveryConfig:
    s = state.settings
    return DeliveryConfig(
        allowed_networks=parse_networks(s.webhook_allowed_networks),
        timeout=s.webhook_timeout_seconds,
        policy=RetryPolicy(parse_schedule(s.webhook_retry_schedule)),
        failures_before_error=s.webhook_failures_before_error,
        concurrency=s.webhook_concurrency,
        lease_margin=s.webhook_lease_margin_seconds,
        poll_seconds=s.webhook_poll_seconds,
    )


def http_client(state: AppState) -> httpx.Client:
    """The client deliveries use: no redirects, no proxies from the environment, TLS checked."""
    concurrency = state.settings.webhook_concurrency
    return httpx.Client(
        follow_redirects=False,
        trust_env=False,
        timeout=state.settings.webhook_timeout_seconds,
        limits=httpx.Limits(max_connections=concurrency * 2),
    )


# How often the LISTEN thread looks whether it was asked to stop, between notifications.
STOP_CHECK_SECONDS = 0.5


class Deliveries:
    """The delivery loop (and, on PostgreSQL, the LISTEN thread) of one worker process."""

    def __init__(self, state: AppState, http: httpx.Client | None = None) -> None:
        self._state = state
        self._http = http or http_client(state)
        self._owns_http = http is None
        self.dispatcher = Dispatcher(state.writer, self._http, delivery_config(state))
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    def start(self) -> None:
        loop = threading.Thread(
            target=self.dispatcher.run, args=(self._stop,), name="wnb-deliveries", daemon=True
        )
        self._threads.append(loop)
        if not self._state.settings.is_sqlite:
            self._threads.append(
                threading.Thread(target=self._listen, name="wnb-outbox-listen", daemon=True)
            )
        for thread in self._threads:
            thread.start()
        log.info("webhook deliveries started")

    def stop(self) -> None:
        self._stop.set()
        wake.wake()
        for thread in self._threads:
            thread.join(timeout=self._state.settings.webhook_timeout_seconds + 5)
        self.dispatcher.close()
        if self._owns_http:
            self._http.close()

    def _listen(self) -> None:
        """Wake the loop when another process commits an outbox row (pg_notify)."""
        # A pooler in transaction mode would hand the LISTEN to a server connection that the
        # next client gets, and the notifications would be lost: a direct URL can be given.
        settings = self._state.settings
        url = make_url(settings.db_listen_url or settings.database_url).set(drivername="postgresql")
        poll = self._state.settings.webhook_poll_seconds
        while not self._stop.is_set():
            try:
                dsn = url.render_as_string(hide_password=False)
                with psycopg.connect(dsn, autocommit=True) as conn:
                    conn.execute(f"LISTEN {wake.CHANNEL}")
                    while not self._stop.is_set():
                        # Waiting costs the server nothing; short waits let `stop` end this
                        # thread at once, where a long poll held a worker's shutdown.
                        for _ in conn.notifies(timeout=min(poll, STOP_CHECK_SECONDS), stop_after=1):
                            wake.wake()
            except psycopg.Error as exc:
                log.warning("outbox listener reconnecting: %s", type(exc).__name__)
                self._stop.wait(poll)
