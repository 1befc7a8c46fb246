"""The catalog: repository names in lexical order, filtered to what the caller may see."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import ColumnElement, false, or_, select

from moorage.db.engine import Database
from moorage.db.models import Repository, RepositoryPermission


@dataclass(frozen=True, slots=True)
class Visibility:
    """What a caller may list: everything, or these namespaces plus (optionally) public repositories."""

    everything: bool = False
    namespaces: frozenset[str] = frozenset()
    public: bool = True
    user_id: int | None = None
    robot_id: int | None = None
    team_ids: frozenset[int] = frozenset()


def visibility_filter(visible: Visibility) -> ColumnElement[bool] | None:
    """A WHERE clause on Repository for what ``visible`` allows (None: everything)."""
    if visible.everything:
        return None
    conds: list[ColumnElement[bool]] = [
        Repository.name.startswith(f"{ns}/", autoescape=True) for ns in sorted(visible.namespaces)
    ]
    if visible.public:
        conds.append(Repository.visibility == "public")
    grant_conds = []
    if visible.user_id is not None:
        grant_conds.append(RepositoryPermission.user_id == visible.user_id)
    if visible.robot_id is not None:
        grant_conds.append(RepositoryPermission.robot_id == visible.robot_id)
    if visible.team_ids:
        grant_conds.append(RepositoryPermission.team_id.in_(sorted(visible.team_ids)))
    if grant_conds:
        conds.append(Repository.id.in_(select(RepositoryPermission.repository_id).where(or_(*grant_conds))))
    if not conds:
        return false()
    return or_(*conds)


class Catalog:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def list(self, n: int, last: str | None, visible: Visibility) -> list[str]:
        stmt = select(Repository.name).order_by(Repository.name).limit(n)
        if last:
            stmt = stmt.where(Repository.name > last)
        cond = visibility_filter(visible)
        if cond is not None:
            stmt = stmt.where(cond)
        async with self.db.read() as s:
            return list((await s.execute(stmt)).scalars())
