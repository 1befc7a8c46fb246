"""Who is asking."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Principal:
    kind: str  # "anonymous" | "user"  (robots, app and OAuth tokens come with organizations)
    name: str
    superuser: bool = False

    @property
    def is_anonymous(self) -> bool:
        return self.kind == "anonymous"


ANONYMOUS = Principal("anonymous", "")
