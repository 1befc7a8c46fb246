"""Who performed a change, for the audit log and ``created_by`` columns."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Actor:
    name: str | None
    kind: str = "user"  # user | robot | anonymous | system
    ip: str | None = None
    id: int | None = None  # the user's or robot's id, when known


SYSTEM = Actor("moorage", "system")
