"""A fingerprint of everything a request could change: every table of the schema and the storage
tree, for the access matrices' rule that a refused write changes nothing.

Bookkeeping that a refused request may legitimately touch is left out, by name, here only: the audit
log (refusals are audited), failed-login counters, UI sessions and the last use of a token.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from sqlalchemy import select

import moorage.db.models  # noqa: F401  (registers every table on Base.metadata)
from moorage.db.engine import Database
from moorage.db.models.base import Base

BOOKKEEPING_TABLES = frozenset({"audit_log", "login_throttle", "ui_session"})
BOOKKEEPING_COLUMNS = frozenset({("app_token", "last_used_at")})

State = dict[str, str]


async def snapshot(db: Database, storage_root: Path) -> State:
    """table name (or ``storage``) -> row count and digest of its rows."""
    out: State = {}
    async with db.read() as session:
        for table in Base.metadata.sorted_tables:
            if table.name in BOOKKEEPING_TABLES:
                continue
            columns = [c for c in table.columns if (table.name, c.name) not in BOOKKEEPING_COLUMNS]
            rows = sorted(repr(tuple(row)) for row in (await session.execute(select(*columns))).all())
            out[table.name] = _digest(rows)
    out["storage"] = _digest(_files(storage_root))
    return out


def _files(root: Path) -> list[str]:
    """Every file under the storage root with its size (a refused PATCH must not append a byte)."""
    if not root.exists():
        return []
    return sorted(f"{p.relative_to(root)} {p.stat().st_size}" for p in root.rglob("*") if p.is_file())


def _digest(items: list[str]) -> str:
    h = hashlib.sha256()
    for item in items:
        h.update(item.encode())
        h.update(b"\0")
    return f"{len(items)} rows/files, sha256 {h.hexdigest()[:16]}"


def changes(before: State, after: State) -> list[str]:
    """What differs between two snapshots, one entry per table (or the storage tree)."""
    return [
        f"{name}: {before.get(name)} -> {after.get(name)}"
        for name in sorted(before.keys() | after.keys())
        if before.get(name) != after.get(name)
    ]
