"""The catalog: repository names in lexical order, filtered to what the caller may see."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import or_, select

from moorage.db.engine import Database
from moorage.db.models import Repository


@dataclass(frozen=True, slots=True)
class Visibility:
    """What a caller may list: everything, or these namespaces plus (optionally) public repositories."""

    everything: bool = False
    namespaces: frozenset[str] = frozenset()
    public: bool = True


class Catalog:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def list(self, n: int, last: str | None, visible: Visibility) -> list[str]:
        stmt = select(Repository.name).order_by(Repository.name).limit(n)
        if last:
            stmt = stmt.where(Repository.name > last)
        if not visible.everything:
            conds = [
                Repository.name.startswith(f"{ns}/", autoescape=True) for ns in sorted(visible.namespaces)
            ]
            if visible.public:
                conds.append(Repository.visibility == "public")
            if not conds:
                return []
            stmt = stmt.where(or_(*conds))
        async with self.db.read() as s:
            return list((await s.execute(stmt)).scalars())
