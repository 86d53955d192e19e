"""Building HL7 v2 test messages (generated NHS numbers, invented names), and a real MLLP
client to send them with: python-hl7's own."""

from __future__ import annotations

import ssl
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from hl7.client import MLLPClient

from app.mllp.listener import Listener
from app.runtime import AppState
from app.services.access.clients import add_client
from app.services.access.hl7_senders import register_facility


def source(state: AppState, facility: str | None = None) -> tuple[str, str]:
    """A source client registered for a new sending facility: (client id, facility)."""
    name = facility or f"T{uuid.uuid4().hex[:8].upper()}"

    def add(s):  # type: ignore[no-untyped-def]
        new = add_client(s, f"PAS {name}", None, "source", None, state.clock())
        register_facility(s, new.client_id, name)
        return new.client_id

    return state.write(add), name


def msh(facility: str, kind: str, control: str, version: str = "2.5.1", proc: str = "P") -> str:
    return f"MSH|^~\\&|PAS|{facility}|WNB|WNB|20260601100000||{kind}|{control}|{proc}|{version}"


def pid(nhs: str, hospital: str = "", birth: str = "20200301", family: str = "Smith") -> str:
    ids = f"{nhs}^^^NHS^NH" + (f"~{hospital}^^^RX1^MR" if hospital else "")
    return f"PID|1||{ids}||{family}^Ann^^^Miss||{birth}|F|||1 High St^^Leeds^^LS1 1AA"


def nk1(nhs: str = "", code: str = "MTH", family: str = "Smith", given: str = "Jane") -> str:
    fields = ["NK1", "1", f"{family}^{given}", f"{code}^Mother^HL70063"] + [""] * 30
    fields[33] = f"{nhs}^^^NHS^NH" if nhs else ""
    return "|".join(fields)


def siu(
    facility: str,
    event: str,
    control: str,
    nhs: str,
    appt: str,
    start: str = "20260601090000",
    status: str = "",
    reason: str = "",
    birth: str = "20200301",
    service: str = "DENT^Paediatric dental^L",
) -> str:
    sch = ["SCH", "", f"{appt}^PAS", "", "", "", reason, "", "", "", "", ""] + [""] * 14
    sch[25] = status
    end = start[:8] + f"{int(start[8:10]) + 1:02d}" + start[10:]
    segments = [
        msh(facility, f"SIU^{event}^SIU_S12", control),
        "|".join(sch),
        f"TQ1|1||||||{start}|{end}",
        pid(nhs, birth=birth),
        f"AIS|1||{service}",
        "AIL|1||^^^RX1^^^^^Dental clinic",
    ]
    return "\r".join(segments) + "\r"


def adt(facility: str, event: str, control: str, *segments: str) -> str:
    return "\r".join([msh(facility, f"ADT^{event}^ADT_A05", control), *segments]) + "\r"


@contextmanager
def listening(
    state: AppState, networks: str = "127.0.0.0/8", tls: ssl.SSLContext | None = None
) -> Iterator[Listener]:
    from app.mllp.networks import parse_networks

    listener = Listener(state, "127.0.0.1", 0, parse_networks(networks), tls)
    listener.start_in_thread()
    try:
        yield listener
    finally:
        listener.stop()


def send(listener: Listener, *messages: str) -> list[str]:
    """Each message over one real MLLP connection; the ACKs as text."""
    with MLLPClient("127.0.0.1", listener.port) as client:
        return [client.send_message(m).decode().strip("\x0b\x1c\r") for m in messages]


def ack_code(ack: str) -> str:
    return ack.split("MSA|")[1].split("|")[0].strip("\r\x1c\x0b")


def err(ack: str) -> str:
    """ERR-2 (segment^sequence^field) of an ACK, '' when it has none."""
    if "ERR|" not in ack:
        return ""
    return ack.split("ERR|")[1].split("|")[1]
