"""The message header (MSH): who sent it, what it is, and whether this service takes it."""

from __future__ import annotations

from dataclasses import dataclass

import hl7
from hl7.containers import Message

from app.hl7.errors import (
    REQUIRED_MISSING,
    UNSUPPORTED_EVENT,
    UNSUPPORTED_MESSAGE_TYPE,
    UNSUPPORTED_PROCESSING_ID,
    UNSUPPORTED_VERSION,
    Hl7Error,
)
from app.hl7.fields import first, value

VERSIONS = ("2.3", "2.3.1", "2.4", "2.5", "2.5.1", "2.6", "2.7", "2.7.1", "2.8", "2.8.1", "2.8.2")
EVENTS = {
    "SIU": ("S12", "S13", "S14", "S15", "S17", "S26"),
    "ADT": ("A08", "A28", "A31", "A40"),
}


@dataclass(frozen=True)
class Header:
    facility: str  # MSH-4.1: matched against the registered senders
    application: str  # MSH-3.1
    control_id: str  # MSH-10
    message_type: str  # MSH-9.1
    event: str  # MSH-9.2
    version: str  # MSH-12
    processing_id: str  # MSH-11


def parse_message(text: str) -> Message:
    """Parse with python-hl7; anything it cannot read is an AR naming MSH."""
    # Senders split segments with CR, but files and some engines use LF or CRLF.
    normal = text.replace("\r\n", "\r").replace("\n", "\r").strip("\r\n\x00 ")
    if "\x00" in normal:
        raise Hl7Error("AR", "MSH", None, REQUIRED_MISSING, "the message holds NUL characters")
    if not normal.startswith("MSH") or len(normal) < 8:
        raise Hl7Error("AR", "MSH", None, REQUIRED_MISSING, "the message must start with MSH")
    if normal[3] != "|" or normal[4:8] != "^~\\&":
        # Other encoding characters are legal HL7 but no sender of ours uses them; refusing
        # beats mis-reading every field of a message whose delimiters were garbled.
        raise Hl7Error(
            "AR", "MSH", 2, UNSUPPORTED_VERSION, "encoding characters must be |^~\\&"
        )
    try:
        return hl7.parse(normal)
    except Exception:  # the library's errors are not one type; none may end the connection
        raise Hl7Error(
            "AR", "MSH", None, REQUIRED_MISSING, "the message cannot be parsed"
        ) from None


def read_header(msg: Message, processing_ids: frozenset[str]) -> Header:
    msh = first(msg, "MSH")
    header = Header(
        facility=value(msh, 4, 1, 1),
        application=value(msh, 3, 1, 1),
        control_id=value(msh, 10),
        message_type=value(msh, 9, 1, 1).upper(),
        event=value(msh, 9, 1, 2).upper(),
        version=value(msh, 12, 1, 1),
        processing_id=value(msh, 11, 1, 1).upper(),
    )
    if not header.control_id:
        raise Hl7Error("AR", "MSH", 10, REQUIRED_MISSING, "the message control id is required")
    if len(header.control_id) > 199:
        raise Hl7Error("AR", "MSH", 10, UNSUPPORTED_VERSION, "the control id is too long")
    if not header.facility:
        raise Hl7Error("AR", "MSH", 4, REQUIRED_MISSING, "the sending facility is required")
    if header.version not in VERSIONS:
        raise Hl7Error(
            "AR", "MSH", 12, UNSUPPORTED_VERSION, f"version must be one of {', '.join(VERSIONS)}"
        )
    if header.processing_id not in processing_ids:
        raise Hl7Error(
            "AR",
            "MSH",
            11,
            UNSUPPORTED_PROCESSING_ID,
            f"processing id must be {' or '.join(sorted(processing_ids))}",
        )
    if header.message_type not in EVENTS:
        raise Hl7Error(
            "AR", "MSH", 9, UNSUPPORTED_MESSAGE_TYPE, "only SIU and ADT messages are taken"
        )
    if header.event not in EVENTS[header.message_type]:
        raise Hl7Error(
            "AR",
            "MSH",
            9,
            UNSUPPORTED_EVENT,
            f"{header.message_type} events taken: {', '.join(EVENTS[header.message_type])}",
        )
    return header
