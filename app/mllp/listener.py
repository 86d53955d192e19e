"""`wnb mllp` and the listener inside `wnb serve`: python-hl7's asyncio MLLP server, one
message at a time per connection, each answered before the next is read. A broken frame, an
over-long message or an unreadable one gets an AR and the connection stays open; only the
peer (or an address outside the allowed networks) ends it."""

from __future__ import annotations

import asyncio
import logging
import ssl
import threading
from dataclasses import dataclass, field

from hl7.mllp import HL7StreamReader, HL7StreamWriter, InvalidBlockError, start_hl7_server

from app.hl7.ack import ack
from app.hl7.errors import INTERNAL_ERROR, REQUIRED_MISSING, Hl7Error
from app.hl7.header import parse_message
from app.mllp.networks import Network, allowed, parse_networks
from app.runtime import AppState
from app.services.intake.hl7_intake import IntakeOptions, Received, receive
from app.settings import Settings

log = logging.getLogger("wnb.mllp")


@dataclass
class Listener:
    state: AppState
    host: str
    port: int
    networks: list[Network] = field(default_factory=list)
    tls: ssl.SSLContext | None = None
    _server: asyncio.Server | None = None
    _loop: asyncio.AbstractEventLoop | None = None
    _thread: threading.Thread | None = None

    @classmethod
    def from_settings(cls, state: AppState, port: int | None = None) -> Listener:
        s = state.settings
        chosen = port or s.mllp_port
        if chosen is None:
            raise ValueError("no MLLP port: give --port or set WNB_MLLP_PORT")
        return cls(state, s.mllp_host, chosen, parse_networks(s.mllp_allowed_networks), _tls(s))

    async def start(self) -> None:
        self._server = await start_hl7_server(
            self._connection,
            self.host,
            self.port,
            limit=self.state.settings.mllp_max_message_bytes,
            ssl=self.tls,
        )
        if self.port == 0:
            self.port = self._server.sockets[0].getsockname()[1]
        log.info("MLLP listener on port %d (tls %s)", self.port, "on" if self.tls else "off")

    async def serve_forever(self) -> None:
        await self.start()
        if self._server is not None:
            await self._server.serve_forever()

    def start_in_thread(self) -> None:
        """Run on an event loop of its own beside the web server (`wnb serve`, tests)."""
        started = threading.Event()
        loop = asyncio.new_event_loop()
        self._loop = loop

        def run() -> None:
            asyncio.set_event_loop(loop)
            loop.run_until_complete(self.start())
            started.set()
            loop.run_forever()

        self._thread = threading.Thread(target=run, name="mllp", daemon=True)
        self._thread.start()
        if not started.wait(10):
            raise RuntimeError("the MLLP listener did not start")

    def stop(self) -> None:
        loop, server = self._loop, self._server
        if loop is None or server is None:
            return

        async def close() -> None:
            server.close()
            await server.wait_closed()

        asyncio.run_coroutine_threadsafe(close(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        if self._thread is not None:
            self._thread.join(10)

    async def _connection(self, reader: HL7StreamReader, writer: HL7StreamWriter) -> None:
        peer = writer.get_extra_info("peername")
        if not peer or not allowed(str(peer[0]), self.networks):
            log.warning("MLLP connection refused: address outside WNB_MLLP_ALLOWED_NETWORKS")
            writer.close()
            return
        loop = asyncio.get_running_loop()
        try:
            while True:
                reply = await self._next(reader, loop)
                if reply is None:
                    break
                writer.writeblock(reply.encode("utf-8"))
                await writer.drain()
        except (ConnectionError, asyncio.CancelledError):
            pass
        finally:
            writer.close()

    async def _next(self, reader: HL7StreamReader, loop: asyncio.AbstractEventLoop) -> str | None:
        """The answer to the next frame; None when the peer has gone."""
        try:
            block: bytes = await reader.readblock()
        except asyncio.IncompleteReadError:
            return None
        except InvalidBlockError:
            log.info("MLLP frame without a start block answered AR")
            return _refusal("the frame must start with <VT> (0x0B) and end with <FS><CR>")
        except ValueError:
            log.info("MLLP message over WNB_MLLP_MAX_MESSAGE_BYTES answered AR")
            return _refusal("the message is larger than this service takes")
        text = _decode(block)
        received = await loop.run_in_executor(None, self.handle, text)
        log.info(
            "MLLP message answered %s%s", received.code, " (repeated)" if received.repeated else ""
        )
        return received.ack

    def handle(self, text: str) -> Received:
        """One message in one unit of work. A failure of this service (the database away)
        answers AE 207 and stores nothing: the sender's re-send is then a first delivery."""
        state = self.state
        options = IntakeOptions(
            frozenset(p.strip().upper() for p in state.settings.mllp_processing_ids.split(",")),
            audit=state.settings.audit_enabled,
        )
        try:
            ctx = state.write_context()
            return state.write(lambda s: receive(s, text, ctx, options), ctx)
        except Exception as exc:  # any failure here is ours, never the sender's message
            log.error("MLLP message not stored: %s", type(exc).__name__)
            error = Hl7Error("AE", "MSH", None, INTERNAL_ERROR, "not stored; send it again")
            try:
                return Received(ack(parse_message(text), "AE", error), "AE")
            except Exception:  # the message itself is unreadable: the service's own header
                return Received(ack(None, "AE", error), "AE")


def _refusal(text: str) -> str:
    return ack(None, "AR", Hl7Error("AR", "MSH", None, REQUIRED_MISSING, text))


def _decode(block: bytes) -> str:
    """UTF-8 (HL7 2.8's preferred set, and ASCII's superset); else Latin-1, which older UK
    systems send and which reads every byte."""
    try:
        return block.decode("utf-8")
    except UnicodeDecodeError:
        return block.decode("latin-1")


def _tls(settings: Settings) -> ssl.SSLContext | None:
    if settings.mllp_tls_cert is None or settings.mllp_tls_key is None:
        return None
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(settings.mllp_tls_cert, settings.mllp_tls_key)
    return context
