"""Immutable tags: the one place that decides whether a tag may be moved, deleted or expired.

A tag is immutable when its row says so (``tag.immutable``: the ``quay.immutable=true`` label at
push, or set by a superuser) or when an immutability policy of its repository or its namespace
covers its name (``domain.tagpattern.pattern_applies``). Every path that changes a live tag calls
:func:`check_tag_change` inside its transaction: a ``/v2`` manifest PUT that would move the tag
(pushing the digest it already points at is no change), a ``/v2`` or API delete of the tag or of its
manifest, an API or UI move, and tag expiration. Auto-prune asks :func:`immutable_rules` and skips.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from moorage.db.models import ImmutabilityPolicy, Repository, Tag
from moorage.domain.errors import TagImmutable
from moorage.domain.tagpattern import pattern_applies

MARKED = "the tag is marked immutable (quay.immutable label or set by an administrator)"


def describe_rule(uuid: str, scope: str, pattern: str, matches: bool) -> str:
    how = "matching" if matches else "not matching"
    return f"immutability rule {uuid} of {scope}: tags {how} {pattern!r}"


async def immutable_rules(s: AsyncSession, repository_id: int, names: Iterable[str]) -> dict[str, str]:
    """For each live tag among ``names`` that is immutable, the rule that makes it so."""
    wanted = sorted(set(names))
    if not wanted:
        return {}
    repo = (
        await s.execute(
            select(Repository.name, Repository.namespace_id).where(Repository.id == repository_id)
        )
    ).first()
    if repo is None:
        return {}
    out: dict[str, str] = {}
    marked = (
        await s.execute(
            select(Tag.name).where(
                Tag.repository_id == repository_id,
                Tag.name.in_(wanted),
                Tag.lifetime_end.is_(None),
                Tag.immutable.is_(True),
            )
        )
    ).scalars()
    for name in marked:
        out[name] = MARKED
    policies = (
        await s.execute(
            select(
                ImmutabilityPolicy.uuid,
                ImmutabilityPolicy.repository_id,
                ImmutabilityPolicy.tag_pattern,
                ImmutabilityPolicy.tag_pattern_matches,
            )
            .where(
                ImmutabilityPolicy.namespace_id == repo.namespace_id,
                or_(
                    ImmutabilityPolicy.repository_id.is_(None),
                    ImmutabilityPolicy.repository_id == repository_id,
                ),
            )
            .order_by(ImmutabilityPolicy.id)
        )
    ).all()
    namespace = repo.name.split("/", 1)[0]
    for p in policies:
        scope = f"repository {repo.name}" if p.repository_id is not None else f"namespace {namespace}"
        for name in wanted:
            if name not in out and pattern_applies(p.tag_pattern, p.tag_pattern_matches, name):
                out[name] = describe_rule(p.uuid, scope, p.tag_pattern, p.tag_pattern_matches)
    return out


async def check_tag_change(
    s: AsyncSession, repository_id: int, repository: str, tag: str, action: str
) -> None:
    """Raise TagImmutable (naming the rule) when ``tag`` may not be changed. ``action`` completes
    "it may not be ...": "moved", "deleted", "expired", "pruned". Call it inside the transaction that
    makes the change, after locking the repository (``registry.sql.lock_repository``)."""
    rules = await immutable_rules(s, repository_id, [tag])
    if tag in rules:
        raise TagImmutable(repository, tag, rules[tag], action)


async def check_tags_change(
    s: AsyncSession, repository_id: int, repository: str, tags: Iterable[str], action: str
) -> None:
    """check_tag_change for several tags at once (a manifest delete ends every tag on it)."""
    rules = await immutable_rules(s, repository_id, tags)
    for name in sorted(rules):
        raise TagImmutable(repository, name, rules[name], action)
