"""Reading a parsed message by HL7 position (1-based, as the standard numbers fields): the
library's own accessors, with an absent field, component or segment read as ''."""

from __future__ import annotations

from hl7.containers import Field, Message, Segment


def value(seg: Segment | None, field: int, rep: int = 1, comp: int = 1, sub: int = 1) -> str:
    if seg is None:
        return ""
    try:
        return str(seg.extract_field(1, field, rep, comp, sub)).strip()
    except (IndexError, TypeError, ValueError, AttributeError):
        # A truncated segment or a component where a leaf ended: absent, not an error here;
        # the mapping decides whether the field was required.
        return ""


def repetitions(seg: Segment | None, field: int) -> int:
    """How many repetitions field `field` holds (0 when absent)."""
    if seg is None or field >= len(seg):
        return 0
    found = seg(field)
    return len(found) if isinstance(found, Field) else 1


def segments(msg: Message, name: str) -> list[Segment]:
    return [s for s in msg if len(s) and str(s[0]) == name]


def first(msg: Message, name: str) -> Segment | None:
    found = segments(msg, name)
    return found[0] if found else None
