"""The delivery loop: claim due messages (a short transaction), send them with no database
lock held, record each result (another short transaction). Any number of these may run
against PostgreSQL; a worker that dies mid-delivery leaves a lease that runs out, and the
message is sent again with the same webhook-id."""

from __future__ import annotations

import logging
import socket
import threading
import uuid
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import httpx
import orjson
from sqlalchemy.orm import Session, sessionmaker

from app.fhir.raised_flag import for_agency
from app.notify import delivery, ssrf, wake
from app.notify.delivery import AttemptResult
from app.notify.notification import with_resources
from app.notify.outcome import settle_attempt
from app.notify.retry import RetryPolicy
from app.notify.signing import signed_headers
from app.notify.slots import Slots
from app.store import agency_repo, outbox_repo, resources_repo
from app.store.outbox_repo import Claimed
from app.store.webhook_models import WebhookSubscription

log = logging.getLogger("wnb.notify")


def wall_clock() -> datetime:
    """Now, in UTC: what signatures and retry times are measured on."""
    return datetime.now(UTC)


@dataclass(frozen=True)
class DeliveryConfig:
    """How a dispatcher delivers (from settings; tests and benchmarks pass their own)."""

    allowed_networks: tuple[ssrf.IPNetwork, ...] = ()
    timeout: float = 15.0
    policy: RetryPolicy = field(default_factory=RetryPolicy)
    failures_before_error: int = 10
    concurrency: int = 8
    lease_margin: float = 30.0
    poll_seconds: float = 1.0
    batch: int = 50  # most claimed at once; never more than the idle delivery threads


class Dispatcher:
    """Delivers the outbox. `http` is injected (tests and benchmarks pass their own); it must
    not follow redirects. Timestamps and retry times use the wall clock, which is what
    receivers check signatures against."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        http: httpx.Client,
        config: DeliveryConfig,
        clock: Callable[[], datetime] = wall_clock,
        resolver: ssrf.Resolver = socket.getaddrinfo,
    ) -> None:
        self._sessions = sessions
        self._http = http
        self._config = config
        self._clock = clock
        self._resolver = resolver
        self._pool = ThreadPoolExecutor(config.concurrency, thread_name_prefix="wnb-deliver")
        self._slots = Slots(config.concurrency)

    def run_once(self) -> int:
        """Claim what the idle delivery threads can start now, deliver it and wait for it;
        how many were claimed."""
        started = self._start_due(wait=0.0) or []
        for future in started:
            future.result()
        return len(started)

    def drain(self, rounds: int = 100) -> int:
        """Deliver until nothing is due now (tests, benchmarks); how many attempts were made."""
        total = 0
        for _ in range(rounds):
            count = self.run_once()
            total += count
            if not count:
                break
        return total

    def run(self, stop: threading.Event) -> None:
        """Deliver until `stop` is set: a thread that finishes takes the next due message at
        once; with nothing due, woken by a commit that wrote to the outbox, or polling every
        `poll_seconds` for retries that came due."""
        while not stop.is_set():
            try:
                started = self._start_due(wait=self._config.poll_seconds)
            except Exception as exc:  # a database hiccup must not end the loop
                log.warning("delivery round failed: %s", type(exc).__name__)
                stop.wait(self._config.poll_seconds)
                continue
            if started is not None and not started:
                wake.wait(self._config.poll_seconds)

    def close(self) -> None:
        """Wait for deliveries in flight and stop the delivery threads."""
        self._pool.shutdown(wait=True)

    def _start_due(self, wait: float) -> list[Future[None]] | None:
        """Claim as many due messages as there are idle delivery threads (at most `batch`)
        and start them; None when no thread became idle within `wait` seconds. Every claimed
        message starts at once, so its lease only has to cover one attempt: a batch larger
        than the threads would leave its tail queued while the lease ran out, and another
        worker would send those messages again."""
        idle = self._slots.take(self._config.batch, wait)
        if not idle:
            return None
        token = uuid.uuid4().hex
        now = self._clock()
        lease = timedelta(seconds=self._config.timeout + self._config.lease_margin)
        try:
            with self._sessions() as session:
                claimed = outbox_repo.claim_due(session, now, idle, now + lease, token)
                session.commit()
        except BaseException:
            self._slots.give(idle)
            raise
        self._slots.give(idle - len(claimed))
        return [self._pool.submit(self._send, c, token) for c in claimed]

    def _send(self, claimed: Claimed, token: str) -> None:
        try:
            self._deliver(claimed, token)
        except Exception as exc:
            # Unrecorded: the lease runs out and the message is tried again.
            log.warning(
                "webhook message %d not settled: %s", claimed.message.pk, type(exc).__name__
            )
            raise
        finally:
            self._slots.give()
            # The thread is free, and the same child's next message may be due now.
            wake.wake()

    def _deliver(self, claimed: Claimed, token: str) -> None:
        msg, sub = claimed.message, claimed.subscription
        try:
            full = sub.payload == "full-resource"
            body = self._full(msg.body, msg.focus, sub.client_id) if full else msg.body
            result = self._attempt(msg.msg_id, body, sub)
        except Exception as exc:  # never leave a claimed message unrecorded
            result = AttemptResult(None, 0, error=f"internal error: {type(exc).__name__}")
        with self._sessions() as session:
            state = settle_attempt(
                session,
                claimed,
                token,
                result,
                self._clock(),
                self._config.policy,
                self._config.failures_before_error,
            )
            session.commit()
        # Row numbers, not the random ids: a run of ten digits in a hex id can pass for an NHS
        # number in the logs. Successes at DEBUG: at volume they are the attempt log's job.
        log.log(
            logging.DEBUG if state == "delivered" else logging.INFO,
            "webhook message %d to subscription %d: %s (%s, %d ms)",
            msg.pk,
            sub.pk,
            state,
            result.status_code if result.status_code is not None else "no answer",
            result.latency_ms,
        )

    def _full(self, body: str, focus: str | None, client_id: str) -> str:
        """The body with the focus Flag in it, as the version the event made, showing only
        the reasons that concern the subscriber's agency type."""
        if not focus:
            return body
        type_name, rid, _, version = focus.split("/")
        with self._sessions() as session:
            found = resources_repo.version(session, type_name, rid, int(version))
            agency = agency_repo.binding(session, client_id)
            content = found.content if found else None
        if not content:
            return body
        flag = for_agency(orjson.loads(content), agency.agency_type if agency else "")
        return with_resources(body, {f"{type_name}/{rid}": orjson.dumps(flag).decode()})

    def _attempt(self, msg_id: str, body: str, sub: WebhookSubscription) -> AttemptResult:
        try:
            target = ssrf.resolve(sub.endpoint, self._config.allowed_networks, self._resolver)
        except ssrf.EndpointRefused as exc:
            return AttemptResult(None, 0, error=f"refused by the SSRF guard: {exc}")
        at = self._clock()
        headers = {
            **parse_headers(orjson.loads(sub.headers)),
            **signed_headers(msg_id, body, at, signing_secrets(sub, at)),
        }
        return delivery.post(self._http, target, body.encode(), headers, self._config.timeout)


def signing_secrets(sub: WebhookSubscription, at: datetime) -> list[str]:
    """The current secret, and during a rotation's overlap the previous one too."""
    keys = [sub.secret]
    if sub.previous_secret and sub.previous_secret_until and at < sub.previous_secret_until:
        keys.append(sub.previous_secret)
    return keys


def parse_headers(lines: list[str]) -> dict[str, str]:
    """`channel.header` values ("Name: value") as a dict."""
    out: dict[str, str] = {}
    for line in lines:
        name, _, value = line.partition(":")
        out[name.strip()] = value.strip()
    return out
