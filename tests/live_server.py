"""The app served by a real uvicorn on a loopback port, for tests that need real concurrency."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import uvicorn

from app.main import create_app
from app.runtime import AppState


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def serve(state: AppState, port: int | None = None) -> Iterator[str]:
    """`port`: one chosen beforehand, for a state whose base URL must name the server."""
    port = port or free_port()
    # log_config=None: uvicorn's own loggers propagate to the root logger, so the suite's log
    # scan sees what the server would log (a traceback of an unhandled error included).
    config = uvicorn.Config(
        create_app(state=state),
        host="127.0.0.1",
        port=port,
        log_level="warning",
        access_log=False,
        log_config=None,
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError("test server did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
