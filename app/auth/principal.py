"""Who is calling: a machine client or a signed-in person, with what they may do."""

from __future__ import annotations

from dataclasses import dataclass, field

from app.auth.scopes import Scope, allows


@dataclass(frozen=True)
class Principal:
    kind: str  # client | user
    id: str
    name: str
    role: str | None
    scopes: list[Scope] = field(default_factory=list)
    csrf_token: str | None = None  # sessions only

    def may(self, resource: str, interaction: str) -> bool:
        return allows(self.scopes, resource, interaction)

    @property
    def key(self) -> str:
        return f"{self.kind}:{self.id}"
