"""The referrers API: manifests in a repository whose ``subject`` is a given digest."""

from __future__ import annotations

import json

from sqlalchemy import select

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
        stmt = (
            select(
                Manifest.digest, Manifest.media_type, Manifest.size, Manifest.artifact_type, Manifest.content
            )
            .join(RepositoryManifest, RepositoryManifest.manifest_id == Manifest.id)
            .join(Repository, Repository.id == RepositoryManifest.repository_id)
            .where(Repository.name == repository, Manifest.subject_digest == str(subject))
            .order_by(Manifest.created_at, Manifest.id)
        )
        if artifact_type is not None:
            stmt = stmt.where(Manifest.artifact_type == artifact_type)
        async with self.db.read() as s:
            rows = (await s.execute(stmt)).all()
        out = []
        for r in rows:
            annotations: dict[str, str] = {}
            try:
                body = json.loads(r.content)
                raw_ann = body.get("annotations") if isinstance(body, dict) else None
                if isinstance(raw_ann, dict):
                    annotations = {str(k): str(v) for k, v in raw_ann.items()}
            except ValueError:
                pass
            out.append(ReferrerDescriptor(r.media_type, r.digest, int(r.size), r.artifact_type, annotations))
        return out
