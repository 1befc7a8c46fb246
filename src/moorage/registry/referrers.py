"""The referrers API: manifests in a repository whose ``subject`` is a given digest."""

from __future__ import annotations

import builtins
import json
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Select, select

from moorage.db.engine import Database
from moorage.db.models import Manifest, Repository, RepositoryManifest
from moorage.domain.digest import Digest
from moorage.registry.types import ReferrerDescriptor


class Referrers:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def list(
        self, repository: str, subject: Digest, artifact_type: str | None = None
    ) -> list[ReferrerDescriptor]:
        stmt = _query(repository).where(Manifest.subject_digest == str(subject))
        if artifact_type is not None:
            stmt = stmt.where(Manifest.artifact_type == artifact_type)
        async with self.db.read() as s:
            rows = (await s.execute(stmt)).all()
        return [_descriptor(r) for r in rows]

    async def for_subjects(
        self, repository: str, subjects: Sequence[str]
    ) -> dict[str, builtins.list[ReferrerDescriptor]]:
        """Referrers of several subjects at once (one query for a page of tags), by subject digest."""
        wanted = sorted(set(subjects))
        if not wanted:
            return {}
        stmt = _query(repository).where(Manifest.subject_digest.in_(wanted))
        async with self.db.read() as s:
            rows = (await s.execute(stmt)).all()
        out: dict[str, builtins.list[ReferrerDescriptor]] = {}
        for r in rows:
            out.setdefault(r.subject_digest, []).append(_descriptor(r))
        return out


def _query(repository: str) -> Select[str, str, int, str | None, bytes, str | None]:
    return (
        select(
            Manifest.digest,
            Manifest.media_type,
            Manifest.size,
            Manifest.artifact_type,
            Manifest.content,
            Manifest.subject_digest,
        )
        .join(RepositoryManifest, RepositoryManifest.manifest_id == Manifest.id)
        .join(Repository, Repository.id == RepositoryManifest.repository_id)
        .where(Repository.name == repository)
        .order_by(Manifest.created_at, Manifest.id)
    )


def _descriptor(r: Any) -> ReferrerDescriptor:
    annotations: dict[str, str] = {}
    try:
        body = json.loads(r.content)
        raw_ann = body.get("annotations") if isinstance(body, dict) else None
        if isinstance(raw_ann, dict):
            annotations = {str(k): str(v) for k, v in raw_ann.items()}
    except ValueError:
        pass
    return ReferrerDescriptor(r.media_type, r.digest, int(r.size), r.artifact_type, annotations)
