"""One version of a resource as a read returns it: its JSON and what the response headers
say of it (ETag, Last-Modified, Location)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class Version:
    id: str
    version: int
    last_updated: datetime
    content: str | bytes
