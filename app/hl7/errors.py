"""Why a message is refused, in the terms its ACK needs: the acknowledgement code, the segment
and field at fault and an HL7 table 0357 error code."""

from __future__ import annotations

from dataclasses import dataclass

# HL7 table 0357 (message error condition codes) used here.
REQUIRED_MISSING = "101"
DATA_TYPE_ERROR = "102"
TABLE_VALUE_NOT_FOUND = "103"
UNSUPPORTED_MESSAGE_TYPE = "200"
UNSUPPORTED_EVENT = "201"
UNSUPPORTED_PROCESSING_ID = "202"
UNSUPPORTED_VERSION = "203"
UNKNOWN_KEY = "204"
DUPLICATE_KEY = "205"
INTERNAL_ERROR = "207"

ERROR_NAMES = {
    REQUIRED_MISSING: "Required field missing",
    DATA_TYPE_ERROR: "Data type error",
    TABLE_VALUE_NOT_FOUND: "Table value not found",
    UNSUPPORTED_MESSAGE_TYPE: "Unsupported message type",
    UNSUPPORTED_EVENT: "Unsupported event code",
    UNSUPPORTED_PROCESSING_ID: "Unsupported processing id",
    UNSUPPORTED_VERSION: "Unsupported version id",
    UNKNOWN_KEY: "Unknown key identifier",
    DUPLICATE_KEY: "Duplicate key identifier",
    INTERNAL_ERROR: "Application internal error",
}


@dataclass
class Hl7Error(Exception):
    """`ack`: AE (the message could not be mapped or stored: the sender must correct it) or
    AR (it could not be processed at all: unknown sender, wrong version, unparseable).
    `text` never quotes the message: it goes to the trail and the logs' neighbours."""

    ack: str
    segment: str
    field: int | None
    code: str
    text: str
    repetition: int = 1

    def __str__(self) -> str:
        return f"{self.ack} {self.location}: {self.text}"

    @property
    def location(self) -> str:
        if self.field is None:
            return self.segment
        return f"{self.segment}-{self.field}"


def mapping_error(segment: str, field: int, text: str, code: str = DATA_TYPE_ERROR) -> Hl7Error:
    return Hl7Error("AE", segment, field, code, text)


def missing(segment: str, field: int, what: str) -> Hl7Error:
    return Hl7Error("AE", segment, field, REQUIRED_MISSING, f"{what} is required")
