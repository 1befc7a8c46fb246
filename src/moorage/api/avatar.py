"""Quay's ``avatar`` object (``{"name", "hash", "color", "kind"}``) for users, robots, teams and
organizations in API answers, so Quay's clients and UIs that draw it find it.

Quay hashes the e-mail address (a Gravatar hash); Moorage hashes the lower-cased name instead, so an
answer never carries a derivative of someone's e-mail address (docs/api.md lists the difference).
The colour is picked from the hash as Quay does, from a fixed palette.
"""

from __future__ import annotations

import hashlib
from typing import Literal

from pydantic import BaseModel

AvatarKind = Literal["user", "robot", "team", "org"]

PALETTE = (
    "#969696", "#aec7e8", "#ff7f0e", "#ffbb78", "#2ca02c", "#98df8a", "#d62728", "#ff9896",
    "#9467bd", "#c5b0d5", "#8c564b", "#c49c94", "#e377c2", "#f7b6d2", "#7f7f7f", "#c7c7c7",
)  # fmt: skip


class Avatar(BaseModel):
    name: str
    hash: str
    color: str
    kind: AvatarKind


def avatar(name: str, kind: AvatarKind) -> Avatar:
    digest = hashlib.md5(name.strip().lower().encode(), usedforsecurity=False).hexdigest()
    return Avatar(name=name, hash=digest, color=PALETTE[int(digest[0], 16) % len(PALETTE)], kind=kind)
