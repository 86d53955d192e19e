"""Acknowledgements (original mode): AA accepted, AE error, AR rejected. An AE or AR carries
an ERR segment naming the segment and field at fault and the HL7 table 0357 code."""

from __future__ import annotations

import uuid

import hl7
from hl7.containers import Message

from app.hl7.errors import ERROR_NAMES, Hl7Error

# A message too broken to read still gets an answer: an ACK built from this header.
_STUB = "MSH|^~\\&|||WNB|WNB|||ACK^^ACK||P|2.5.1"


def ack(msg: Message | None, code: str, error: Hl7Error | None = None) -> str:
    """The ACK for `msg` (None when it could not be parsed) as message text."""
    source = msg if msg is not None else hl7.parse(_STUB)
    try:
        reply = source.create_ack(code, message_id=uuid.uuid4().hex[:20])
    except (IndexError, TypeError, ValueError):
        # A header cut short before MSH-12: answer from the service's own header instead.
        source = hl7.parse(_STUB)
        reply = source.create_ack(code, message_id=uuid.uuid4().hex[:20])
    if error is not None:
        text = source.escape(error.text[:200])
        msa = reply.segment("MSA")
        msa.assign_field(text, 3)  # MSA-3 text: v2.3 and v2.4 senders read it here
        name = ERROR_NAMES.get(error.code, "")
        field = str(error.field) if error.field is not None else ""
        err = reply.create_segment([reply.create_field(["ERR"])])
        # ERR-1 (ELD, v2.3 and v2.4) and ERR-2 (ERL, v2.5 on) both name the location.
        err.assign_field(error.segment, 1, 1, 1)
        err.assign_field("1", 1, 1, 2)
        err.assign_field(field, 1, 1, 3)
        err.assign_field(error.segment, 2, 1, 1)
        err.assign_field("1", 2, 1, 2)
        err.assign_field(field, 2, 1, 3)
        err.assign_field(error.code, 3, 1, 1)
        err.assign_field(name, 3, 1, 2)
        err.assign_field("HL70357", 3, 1, 3)
        err.assign_field("E", 4)
        err.assign_field(text, 8)
        reply.append(err)
    return str(reply)


def ack_code(text: str) -> str:
    """MSA-1 of a stored ACK."""
    for segment in text.split("\r"):
        if segment.startswith("MSA|"):
            return segment.split("|")[1]
    return ""
