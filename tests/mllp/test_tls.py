"""MLLP over TLS (`WNB_MLLP_TLS_CERT` / `WNB_MLLP_TLS_KEY`): a certificate made for the test,
the listener built from the settings as `wnb mllp` builds it, an SIU^S26 sent over a TLS
socket with MLLP framing. A client that does not speak TLS gets no ACK, and the listener goes
on answering the next TLS client."""

from __future__ import annotations

import dataclasses
import ipaddress
import socket
import ssl
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from fastapi.testclient import TestClient

from app.mllp.listener import Listener
from app.runtime import AppState
from tests.factories import nhs_number
from tests.hl7_messages import ack_code, listening, siu, source

pytestmark = pytest.mark.own_connections("a real MLLP listener on its own thread")

VT, FS, CR = b"\x0b", b"\x1c", b"\x0d"


def _self_signed(folder: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 and localhost, signed by its own key: (cert, key) PEM."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / "mllp.crt", folder / "mllp.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


def _server_context(state: AppState, cert: Path, key: Path) -> ssl.SSLContext:
    """The listener's TLS context from the settings, as `wnb mllp` makes it (building a
    listener binds nothing; `listening` then starts one on a free port)."""
    settings = state.settings.model_copy(update={"mllp_tls_cert": cert, "mllp_tls_key": key})
    built = Listener.from_settings(dataclasses.replace(state, settings=settings), port=2575)
    assert built.tls is not None
    return built.tls


def _send_tls(listener: Listener, cert: Path, message: str) -> str:
    """One message over a TLS connection that checks the listener's certificate; its ACK."""
    client = ssl.create_default_context(cafile=str(cert))
    with (
        socket.create_connection(("127.0.0.1", listener.port), timeout=10) as raw,
        client.wrap_socket(raw, server_hostname="localhost") as conn,
    ):
        conn.sendall(VT + message.encode() + FS + CR)
        return _read_frame(conn)


def _read_frame(conn: socket.socket) -> str:
    data = b""
    while not data.endswith(FS + CR):
        chunk = conn.recv(4096)
        if not chunk:
            break
        data += chunk
    return data.decode().strip("\x0b\x1c\r")


def _appointments_of(client: TestClient, nhs: str) -> list[dict]:  # type: ignore[type-arg]
    [child] = client.get("/fhir/Patient", params={"identifier": f"|{nhs}"}).json()["entry"]
    found = client.get("/fhir/Appointment", params={"patient": child["resource"]["id"]}).json()
    return [e["resource"] for e in found["entry"]]


@pytest.fixture
def tls_listener(state: AppState, tmp_path: Path) -> Iterator[tuple[Listener, Path, str]]:
    """A running TLS listener: (listener, its certificate, a registered sending facility)."""
    cert, key = _self_signed(tmp_path)
    _, facility = source(state)
    with listening(state, tls=_server_context(state, cert, key)) as listener:
        yield listener, cert, facility


def test_an_siu_over_tls_is_stored_and_answered_aa(
    tls_listener: tuple[Listener, Path, str], client: TestClient
) -> None:
    listener, cert, facility = tls_listener
    nhs = nhs_number()
    answer = _send_tls(listener, cert, siu(facility, "S26", "TLS1", nhs, "T1"))
    assert ack_code(answer) == "AA", answer
    assert "MSA|AA|TLS1" in answer
    [appt] = _appointments_of(client, nhs)
    assert appt["status"] == "noshow"


def test_a_plain_text_client_gets_no_ack_and_the_listener_keeps_serving_tls(
    tls_listener: tuple[Listener, Path, str], client: TestClient
) -> None:
    listener, cert, facility = tls_listener
    nhs = nhs_number()
    with socket.create_connection(("127.0.0.1", listener.port), timeout=10) as plain:
        plain.sendall(VT + siu(facility, "S26", "PLAIN", nhs, "P1").encode() + FS + CR)
        try:
            heard = plain.recv(4096)
        except ConnectionResetError:
            heard = b""
    # Nothing readable came back (no MLLP frame, no ACK) and the socket was closed.
    assert VT not in heard and b"MSA" not in heard
    answer = _send_tls(listener, cert, siu(facility, "S26", "AFTER", nhs, "P1"))
    assert ack_code(answer) == "AA", answer
    # The plain-text message wrote nothing: the one appointment is the TLS one, version 1.
    [appt] = _appointments_of(client, nhs)
    assert appt["meta"]["versionId"] == "1"
