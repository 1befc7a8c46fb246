"""The rows garbage collection deletes, and the temporary tables of its mark."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Column,
    ColumnElement,
    MetaData,
    Table,
    delete,
    select,
)
from sqlalchemy.ext.asyncio import AsyncSession

from moorage.db.models import (
    Blob,
    Manifest,
    ManifestBlob,
    RepositoryBlob,
    RepositoryManifest,
)
from moorage.registry.quota_accounting import QuotaAccounting

_MARK = MetaData()
GC_LIVE = Table(
    "gc_live",
    _MARK,
    Column("repository_id", BigInteger, primary_key=True),
    Column("manifest_id", BigInteger, primary_key=True),
    prefixes=["TEMPORARY"],
    postgresql_on_commit="DROP",
)
GC_LIVE_BLOB = Table(
    "gc_live_blob",
    _MARK,
    Column("repository_id", BigInteger, primary_key=True),
    Column("blob_id", BigInteger, primary_key=True),
    prefixes=["TEMPORARY"],
    postgresql_on_commit="DROP",
)
"""The mark of one run: temporary tables of the connection that computes it (not in the schema)."""


def not_live_manifest() -> ColumnElement[bool]:
    return ~(
        select(GC_LIVE.c.manifest_id)
        .where(
            GC_LIVE.c.repository_id == RepositoryManifest.repository_id,
            GC_LIVE.c.manifest_id == RepositoryManifest.manifest_id,
        )
        .exists()
    )


def not_live_blob() -> ColumnElement[bool]:
    return ~(
        select(GC_LIVE_BLOB.c.blob_id)
        .where(
            GC_LIVE_BLOB.c.repository_id == RepositoryBlob.repository_id,
            GC_LIVE_BLOB.c.blob_id == RepositoryBlob.blob_id,
        )
        .exists()
    )


@dataclass(frozen=True, slots=True)
class DeletedBlobRows:
    """What :func:`delete_blob_rows` removed."""

    links: list[tuple[int, int, int]]
    """(repository_id, blob_id, size) of each repository_blob row deleted."""
    blobs: list[tuple[int, str, int]]
    """(blob_id, digest, size) of each blob row deleted."""


async def delete_blob_rows(
    s: AsyncSession,
    *,
    repository_id: int | None = None,
    link_blob_ids: Sequence[int] = (),
    blob_ids: Sequence[int] = (),
    cutoff: datetime | None = None,
    quota: QuotaAccounting | None = None,
) -> DeletedBlobRows:
    """THE one place where repository_blob and blob rows are deleted (quota accounting hooks here).

    Deletes, in the caller's transaction:

    - the links ``(repository_id, b)`` for ``b`` in ``link_blob_ids`` that are still unreferenced:
      created before ``cutoff`` and not referenced by a manifest the repository keeps (the caller
      passes only such candidates and holds the repository's lock; the condition is re-checked by
      the statement itself);
    - the blob rows in ``blob_ids`` that no repository links and no manifest references any more
      (the caller holds the digests' locks, ``lock_digests``).

    ``quota`` uncounts the deleted links from their namespace's usage in the same transaction.
    Returns exactly what was deleted, with sizes, so a namespace's usage can drop by the blobs it no
    longer holds: after the links of a repository are deleted, a blob counts against the namespace
    only while another repository of the namespace still links it. Files are not touched here; the
    caller deletes them after the commit.
    """
    links: list[tuple[int, int, int]] = []
    blobs: list[tuple[int, str, int]] = []
    if repository_id is not None and link_blob_ids:
        stmt = delete(RepositoryBlob).where(
            RepositoryBlob.repository_id == repository_id,
            RepositoryBlob.blob_id.in_(list(link_blob_ids)),
        )
        if cutoff is not None:
            stmt = stmt.where(RepositoryBlob.created_at <= cutoff)
        gone = (await s.execute(stmt.returning(RepositoryBlob.blob_id))).scalars().all()
        if gone:
            sizes = dict((await s.execute(select(Blob.id, Blob.size).where(Blob.id.in_(gone)))).all())
            links = [(repository_id, int(b), int(sizes.get(b, 0))) for b in gone]
            if quota is not None:  # the namespace's usage drops by the blobs it no longer holds
                await quota.links_removed(s, [(repository_id, int(b)) for b in gone])
    if blob_ids:
        stmt2 = (
            delete(Blob)
            .where(
                Blob.id.in_(list(blob_ids)),
                ~select(RepositoryBlob.blob_id).where(RepositoryBlob.blob_id == Blob.id).exists(),
                ~select(ManifestBlob.blob_id).where(ManifestBlob.blob_id == Blob.id).exists(),
            )
            .returning(Blob.id, Blob.digest, Blob.size)
        )
        blobs = [(int(i), str(d), int(z)) for i, d, z in (await s.execute(stmt2)).all()]
    return DeletedBlobRows(links, blobs)


async def lock_rows(s: AsyncSession, model: type[Blob] | type[Manifest], ids: Sequence[int]) -> None:
    """PostgreSQL: wait for the writers that reference these rows (a foreign key takes a share lock)
    to finish, so the deleting statement that follows sees their rows (READ COMMITTED takes a new
    snapshot per statement). SQLite holds the single write lock already."""
    if s.get_bind().dialect.name == "postgresql" and ids:
        await s.execute(select(model.id).where(model.id.in_(list(ids))).order_by(model.id).with_for_update())
