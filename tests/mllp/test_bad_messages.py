"""A bad-message corpus over one real MLLP connection: every message gets AE or AR naming
where it is wrong, nothing is written, and the connection stays open for the next one."""

from __future__ import annotations

import socket

import pytest
from fastapi.testclient import TestClient

from app.runtime import AppState
from app.store import hl7_repo
from tests.factories import nhs_number
from tests.hl7_messages import ack_code, err, listening, msh, send, siu, source

pytestmark = pytest.mark.own_connections("a real MLLP listener on its own thread")

VT, FS, CR = b"\x0b", b"\x1c", b"\x0d"


def _corpus(facility: str) -> list[tuple[str, str, str]]:
    """(message, ACK code, ERR location) for messages wrong in one way each."""
    nhs = nhs_number()
    bad_nhs = nhs[:-1] + str((int(nhs[-1]) + 1) % 10)
    ok = siu(facility, "S26", "K0", nhs, "Z1")
    return [
        (siu("NOBODY", "S26", "K1", nhs, "Z1"), "AR", "MSH^1^4"),
        (ok.replace("|2.5.1", "|2.1", 1), "AR", "MSH^1^12"),
        (ok.replace("SIU^S26^SIU_S12", "ORU^R01^ORU_R01", 1), "AR", "MSH^1^9"),
        (ok.replace("SIU^S26^SIU_S12", "SIU^S99^SIU_S12", 1), "AR", "MSH^1^9"),
        (ok.replace("|P|2.5.1", "|T|2.5.1", 1), "AR", "MSH^1^11"),
        (ok.replace("|K0|", "||", 1), "AR", "MSH^1^10"),
        (ok.replace("MSH|^~\\&|", "MSH|#~\\&|", 1), "AR", "MSH^1^2"),
        ("PID|1||" + nhs + "\r", "AR", "MSH^1^"),
        (msh(facility, "SIU^S26^SIU_S12", "K2") + "\rSCH|\rPID|1\r", "AE", "PID^1^3"),
        (ok.replace("Z1^PAS", "", 1), "AE", "SCH^1^2"),
        (ok.replace(nhs, bad_nhs), "AE", "PID^1^3"),
        (ok.replace("|20200301|", "|20201301|", 1), "AE", "PID^1^7"),
        (ok.replace("TQ1|1||||||20260601090000", "TQ1|1||||||2026xx", 1), "AE", "TQ1^1^7"),
        (siu(facility, "S26", "K3", nhs, "Z2", start="20270601090000"), "AE", "TQ1^1^7"),
        (siu(facility, "S26", "K4", nhs, "Z3", start="20190601090000"), "AE", "TQ1^1^7"),
        (siu(facility, "S14", "K5", nhs, "Z4", status="Whatever"), "AE", "SCH^1^25"),
        (ok.replace("|F|", "|Q|", 1), "AE", "PID^1^8"),
    ]


def test_every_bad_message_is_answered_and_writes_nothing(
    state: AppState, client: TestClient
) -> None:
    client_id, facility = source(state)
    corpus = _corpus(facility)
    with listening(state) as listener:
        acks = send(listener, *(m for m, _, _ in corpus))
    for (message, code, where), answer in zip(corpus, acks, strict=True):
        assert (ack_code(answer), err(answer)) == (code, where), message.split("\r")[0]
    assert client.get("/fhir/Patient", params={"_count": 1000}).json().get("entry") is None
    assert client.get("/fhir/Appointment").json().get("entry") is None
    # Every message is kept for audit with its answer; AE and AR alike.
    kept = state.read(lambda s: hl7_repo.messages_of_sender(s, client_id))
    assert {m.ack_code for m in kept} <= {"AE", "AR"} and kept


def test_broken_framing_is_answered_and_the_connection_survives(state: AppState) -> None:
    _, facility = source(state)
    good = siu(facility, "S12", "F1", nhs_number(), "Y1").encode()
    with listening(state) as listener, socket.create_connection(
        ("127.0.0.1", listener.port), timeout=10
    ) as conn:
        answers = []
        for frame in (
            b"no start block" + FS + CR,  # no <VT>
            VT + b"\xff\xfe\x00garbage" + FS + CR,  # NUL and bytes of no encoding
            VT + b"MSH|^~\\&|PAS" + FS + CR,  # a truncated header
            VT + good + FS + CR,
        ):
            conn.sendall(frame)
            answers.append(_read_frame(conn))
    assert [ack_code(a) for a in answers] == ["AR", "AR", "AR", "AA"]


def test_an_address_outside_the_allowed_networks_is_closed(state: AppState) -> None:
    client_id, facility = source(state)
    with listening(state, networks="10.0.0.0/8") as listener, socket.create_connection(
        ("127.0.0.1", listener.port), timeout=10
    ) as conn:
        try:
            conn.sendall(VT + siu(facility, "S12", "N1", nhs_number(), "W1").encode() + FS + CR)
            answer = conn.recv(1024)
        except ConnectionResetError:  # closed before the message arrived: the same refusal
            answer = b""
    assert answer == b""
    assert state.read(lambda s: hl7_repo.messages_of_sender(s, client_id)) == []


def _read_frame(conn: socket.socket) -> str:
    data = b""
    while not data.endswith(FS + CR):
        chunk = conn.recv(4096)
        assert chunk, "the connection was dropped"
        data += chunk
    return data.decode().strip("\x0b\x1c\r")


def test_a_refused_message_corrected_under_its_control_id_is_stored(
    state: AppState, client: TestClient
) -> None:
    _, facility = source(state)
    nhs = nhs_number()
    wrong = siu(facility, "S26", "R1", nhs, "V1", start="20260601250000")
    right = siu(facility, "S26", "R1", nhs, "V1")
    with listening(state) as listener:
        first, again, corrected = send(listener, wrong, wrong, right)
    assert ack_code(first) == "AE" and again == first
    assert ack_code(corrected) == "AA"
    assert len(client.get("/fhir/Appointment").json()["entry"]) == 1
