"""A partner agency's webhook endpoint: a real HTTP server on a loopback port that records
every request and answers as the test tells it (a status, a Retry-After, slowly, or hanging)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass(frozen=True)
class Received:
    path: str
    headers: dict[str, str]
    body: bytes


class Receiver:
    def __init__(self) -> None:
        self.requests: list[Received] = []
        self.answers: list[int] = []  # statuses to answer, in order; then `default`
        self.default = 200
        self.headers: dict[str, str] = {}
        self.hang: threading.Event | None = None  # hold requests until set
        self.delay = 0.0  # seconds to take over each answer: a slow but healthy receiver
        self.arrived = threading.Condition()
        self.url = ""

    def received(self, count: int, timeout: float = 10.0) -> list[Received]:
        """Wait until `count` requests have arrived; all of them."""
        deadline = time.monotonic() + timeout
        with self.arrived:
            while len(self.requests) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"{len(self.requests)} requests arrived, not {count}")
                self.arrived.wait(left)
            return list(self.requests)

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length") or 0))
                with receiver.arrived:
                    receiver.requests.append(
                        Received(self.path, {k.lower(): v for k, v in self.headers.items()}, body)
                    )
                    status = receiver.answers.pop(0) if receiver.answers else receiver.default
                    receiver.arrived.notify_all()
                if receiver.hang is not None:
                    receiver.hang.wait(30)
                if receiver.delay:
                    time.sleep(receiver.delay)
                self.send_response(status)
                for name, value in receiver.headers.items():
                    self.send_header(name, value)
                if 300 <= status < 400:
                    self.send_header("Location", "http://169.254.169.254/latest/meta-data")
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args: object) -> None:
                pass

        return Handler


@contextmanager
def receiving(path: str = "/hooks/wnb") -> Iterator[Receiver]:
    receiver = Receiver()
    server = ThreadingHTTPServer(("127.0.0.1", 0), receiver._handler())
    server.daemon_threads = True
    receiver.url = f"http://127.0.0.1:{server.server_address[1]}{path}"
    # A short poll: `shutdown` waits for the loop to look, 0.5 s a test by default.
    thread = threading.Thread(target=server.serve_forever, args=(0.02,), daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        if receiver.hang is not None:
            receiver.hang.set()
        server.shutdown()
        server.server_close()
