"""One delivery attempt: POST the signed Bundle to the checked address, redirects refused."""

from __future__ import annotations

import time
from dataclasses import dataclass
from email.utils import parsedate_to_datetime

import httpx

from app.notify.ssrf import Target

RESPONSE_KEPT = 500  # characters of a receiver's answer kept in the attempt log
RESPONSE_READ = 4096  # bytes read at most: a receiver cannot make us buffer a large body
FHIR_JSON = "application/fhir+json"


@dataclass(frozen=True)
class AttemptResult:
    """What one attempt got: a status (None without an answer), its time, a short answer,
    an error, and how long a 429/503 asked us to wait."""

    status_code: int | None
    latency_ms: int
    response: str | None = None
    error: str | None = None
    retry_after: float | None = None

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300

    @property
    def reason(self) -> str:
        """A short reason for the attempt log and a subscription's error."""
        if self.error:
            return self.error
        if self.status_code is not None and 300 <= self.status_code < 400:
            return f"HTTP {self.status_code}: redirects are not followed"
        return f"HTTP {self.status_code}"


def post(
    http: httpx.Client,
    target: Target,
    body: bytes,
    headers: dict[str, str],
    timeout: float,
) -> AttemptResult:
    """Send one notification. Connects to `target.address`, names the host in Host and TLS
    SNI (certificates are checked against the host name). Never raises for network trouble."""
    sent = {
        **headers,
        "Host": target.host_header,
        "Content-Type": FHIR_JSON,
        "User-Agent": "wnb-webhooks/1",
    }
    extensions = {"sni_hostname": target.host} if target.scheme == "https" else {}
    started = time.monotonic()
    try:
        request = http.build_request(
            "POST",
            target.url,
            content=body,
            headers=sent,
            timeout=timeout,
            extensions=extensions,
        )
        response = http.send(request, stream=True, follow_redirects=False)
        try:
            text = _read_some(response)
        finally:
            response.close()
    except httpx.TimeoutException:
        return AttemptResult(None, _ms(started), error=f"timed out after {timeout:g} s")
    except httpx.HTTPError as exc:
        return AttemptResult(None, _ms(started), error=f"{type(exc).__name__}: connection failed")
    return AttemptResult(
        response.status_code,
        _ms(started),
        response=text[:RESPONSE_KEPT] or None,
        retry_after=retry_after(response),
    )


def retry_after(response: httpx.Response) -> float | None:
    """Seconds a 429 or 503 asks us to wait (delta-seconds or an HTTP date)."""
    if response.status_code not in (429, 503):
        return None
    value = response.headers.get("retry-after", "").strip()
    if not value:
        return None
    if value.isdigit():
        return float(value)
    try:
        return max(0.0, parsedate_to_datetime(value).timestamp() - time.time())
    except (TypeError, ValueError):
        return None


def _read_some(response: httpx.Response) -> str:
    data = b""
    for chunk in response.iter_bytes():
        data += chunk
        if len(data) >= RESPONSE_READ:
            break
    return data[:RESPONSE_READ].decode("utf-8", "replace")


def _ms(started: float) -> int:
    return int((time.monotonic() - started) * 1000)
