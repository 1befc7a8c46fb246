"""What garbage collection keeps and frees, through /v2 on an in-process server (SQLite and PostgreSQL):
index children, referrers of live subjects, the grace window, restorable and expired tags, dry run.

Each backend gets its own fresh database here: GC with no grace would collect other tests' state."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
import pytest_asyncio
from sqlalchemy import text, update
from tests.conftest import _fresh_postgres_database
from tests.protocol.conftest import BACKENDS, Lifespan
from tests.protocol.helpers import (
    ADMIN,
    OCI_MANIFEST,
    admin_auth,
    descriptor,
    image_manifest,
    push_blob,
    push_image,
    push_manifest,
    sha256,
)

from moorage.app import Services, build_services, create_app
from moorage.audit.log import AuditQuery
from moorage.config import load_settings
from moorage.db.migrate import upgrade_async
from moorage.db.models import Tag
from moorage.registry.gc import GcReport

OCI_INDEX = "application/vnd.oci.image.index.v1+json"


class Gc:
    def __init__(self, services: Services, client: httpx.AsyncClient, storage: Path) -> None:
        self.services = services
        self.client = client
        self.storage = storage

    async def run(self, grace: int = 0) -> GcReport:
        plan = await self.services.gc.plan(grace)
        report = await self.services.gc.run(grace)
        assert (plan.manifest_rows, plan.blob_rows, plan.bytes_freed) == (
            report.manifest_rows,
            report.blob_rows,
            report.bytes_freed,
        ), "the dry run must announce exactly what the run then does"
        return report

    def has_file(self, digest: str) -> bool:
        alg, hexa = digest.split(":")
        return (self.storage / "blobs" / alg / hexa[:2] / hexa).exists()

    async def manifest_status(self, repo: str, digest: str) -> int:
        r = await self.client.get(
            f"/v2/{repo}/manifests/{digest}",
            headers={**admin_auth(), "Accept": f"{OCI_MANIFEST}, {OCI_INDEX}"},
        )
        return r.status_code

    async def sql(self, statement: str, **params: object) -> None:
        async with self.services.db.write() as s:
            await s.execute(text(statement), params)

    async def delete_tag(self, repo: str, tag: str) -> None:
        r = await self.client.delete(f"/api/v1/repository/{repo}/tag/{tag}", headers=admin_auth())
        assert r.status_code == 200, r.text


@pytest.fixture(scope="module", params=BACKENDS)
def gc_backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(scope="module")
def gc_database_url(gc_backend: str) -> Iterator[str | None]:
    if gc_backend != "postgres":
        yield None
        return
    with _fresh_postgres_database() as url:
        yield url


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def gc(
    gc_backend: str, gc_database_url: str | None, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Gc]:
    database_url = gc_database_url
    data_dir = tmp_path_factory.mktemp(f"gc-{gc_backend}")
    settings = load_settings(
        None,
        data_dir=data_dir,
        database_url=database_url,
        fsync=False,
        default_tag_expiration_s=0,
        read_cache="off",
    )
    await upgrade_async(settings.resolved_database_url)
    services = build_services(settings)
    await services.registry.users.create(ADMIN[0], ADMIN[1], superuser=True)
    app = create_app(settings)
    try:
        async with (
            Lifespan(app),
            httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as client,
        ):
            yield Gc(services, client, settings.resolved_storage_root)
    finally:
        await services.db.dispose()


async def test_grace_window_keeps_an_unfinished_push(gc: Gc) -> None:
    layer = b"uploaded, manifest not put yet" * 10
    digest = await push_blob(gc.client, "admin/gc-grace", layer)
    report = await gc.run(grace=3600)
    assert report.blob_rows == 0
    assert gc.has_file(digest)
    # the push can finish: its manifest finds the blob
    config = b'{"architecture":"amd64","os":"linux"}'
    await push_blob(gc.client, "admin/gc-grace", config)
    r = await push_manifest(gc.client, "admin/gc-grace", "v1", image_manifest(config, [layer]))
    assert r.status_code == 201, r.text
    assert (await gc.run(grace=0)).blob_rows == 0  # now referenced by a live tag
    assert gc.has_file(digest)


async def test_abandoned_upload_and_untagged_push_by_digest_are_freed_without_grace(gc: Gc) -> None:
    lonely = await push_blob(gc.client, "admin/gc-abandoned", b"nobody will reference me" * 7)
    image = await push_image(gc.client, "admin/gc-abandoned", None, seed="by-digest")
    report = await gc.run(grace=0)
    assert report.manifest_rows >= 1
    for digest in [lonely, image.config_digest, *image.layer_digests]:
        assert not gc.has_file(digest)
    assert await gc.manifest_status("admin/gc-abandoned", image.digest) == 404


async def test_index_children_and_referrers_follow_their_root(gc: Gc) -> None:
    repo = "admin/gc-index"
    children = [await push_image(gc.client, repo, None, seed=f"arch-{i}") for i in range(2)]
    index = {
        "schemaVersion": 2,
        "mediaType": OCI_INDEX,
        "manifests": [
            {"mediaType": OCI_MANIFEST, "digest": c.digest, "size": len(c.manifest)} for c in children
        ],
    }
    raw_index = json.dumps(index).encode()
    r = await push_manifest(gc.client, repo, "multi", raw_index, OCI_INDEX)
    assert r.status_code == 201, r.text
    # a signature-like referrer of the index, pushed by digest
    sig_config = b"{}"
    sig_layer = b"signature bytes" * 5
    await push_blob(gc.client, repo, sig_config)
    await push_blob(gc.client, repo, sig_layer)
    sig = image_manifest(
        sig_config,
        [sig_layer],
        subject=descriptor(OCI_INDEX, raw_index),
        artifact_type="application/vnd.example.signature",
        config_media_type="application/vnd.oci.empty.v1+json",
    )
    raw_sig = json.dumps(sig).encode()
    r = await push_manifest(gc.client, repo, sha256(raw_sig), raw_sig, OCI_MANIFEST)
    assert r.status_code == 201, r.text

    await gc.run(grace=0)
    for c in children:
        assert await gc.manifest_status(repo, c.digest) == 200
        assert all(gc.has_file(d) for d in [c.config_digest, *c.layer_digests])
    assert await gc.manifest_status(repo, sha256(raw_sig)) == 200
    assert gc.has_file(sha256(sig_layer))

    await gc.delete_tag(repo, "multi")
    report = await gc.run(grace=0)
    assert report.manifest_rows == 4  # the index, its two children, the referrer
    for c in children:
        assert await gc.manifest_status(repo, c.digest) == 404
        assert not any(gc.has_file(d) for d in [c.config_digest, *c.layer_digests])
    assert not gc.has_file(sha256(sig_layer))


async def test_restorable_tags_are_kept_for_the_namespace_window(gc: Gc) -> None:
    repo = "admin/gc-window"
    deleted = await push_image(gc.client, repo, "deleted", seed="deleted")
    expired = await push_image(gc.client, repo, "expired", seed="expired")
    await gc.delete_tag(repo, "deleted")
    past = datetime.now(UTC) - timedelta(minutes=5)
    async with gc.services.db.write() as s:
        await s.execute(update(Tag).where(Tag.name == "expired").values(expires_at=past))
    await gc.sql("UPDATE namespace SET tag_expiration_s = 3600 WHERE name = 'admin'")
    try:
        await gc.run(grace=0)
        for image in (deleted, expired):
            assert await gc.manifest_status(repo, image.digest) == 200
            assert all(gc.has_file(d) for d in [image.config_digest, *image.layer_digests])
        # a window shorter than the five minutes since the expiry: the expired tag's image goes
        await gc.sql("UPDATE namespace SET tag_expiration_s = 60 WHERE name = 'admin'")
        await gc.run(grace=0)
        assert await gc.manifest_status(repo, expired.digest) == 404
        assert not any(gc.has_file(d) for d in [expired.config_digest, *expired.layer_digests])
        assert await gc.manifest_status(repo, deleted.digest) == 200
    finally:
        await gc.sql("UPDATE namespace SET tag_expiration_s = NULL WHERE name = 'admin'")


async def test_audit_entry_and_shared_blob_kept_while_another_repository_links_it(gc: Gc) -> None:
    shared = b"a layer two repositories share" * 9
    keep = await push_image(gc.client, "admin/gc-share-a", "v1", layers=[shared], seed="a")
    drop = await push_image(gc.client, "admin/gc-share-b", "v1", layers=[shared], seed="b")
    await gc.delete_tag("admin/gc-share-b", "v1")
    report = await gc.run(grace=0)
    assert report.namespaces["admin"].blobs >= 2
    assert gc.has_file(sha256(shared))
    assert not gc.has_file(drop.config_digest)
    assert gc.has_file(keep.config_digest)
    records = await gc.services.audit.query(AuditQuery(kinds=("gc_run",)))
    assert records
    assert records[0].metadata["bytes_freed"] == report.bytes_freed


async def test_uploading_a_blob_again_renews_its_grace(gc: Gc) -> None:
    """An abandoned push linked the blob long ago; a new push that uploads it again gets the whole
    grace window from now (the link's age is renewed), so GC does not take it before the manifest."""
    data = b"linked long ago, uploaded again" * 11
    digest = await push_blob(gc.client, "admin/gc-renew", data)
    await gc.sql("UPDATE repository_blob SET created_at = :old", old=datetime(2000, 1, 1, tzinfo=UTC))
    await push_blob(gc.client, "admin/gc-renew", data)
    assert (await gc.run(grace=3600)).blob_rows == 0
    assert gc.has_file(digest)
    r = await gc.client.head(f"/v2/admin/gc-renew/blobs/{digest}", headers=admin_auth())
    assert r.status_code == 200


class _Job:
    """The job system's side of the handler contract (jobs/types.py), as the queue will drive it."""

    def __init__(self, payload: dict[str, object], cancelled: bool = False) -> None:
        self.job_id = 1
        self.kind = "gc"
        self.payload = payload
        self.attempt = 1
        self.cancelled = cancelled
        self.progress_calls: list[tuple[int, int | None, str]] = []

    async def progress(self, done: int, total: int | None, message: str = "") -> None:
        self.progress_calls.append((done, total, message))

    def cancel_requested(self) -> bool:
        return self.cancelled


async def test_job_handler_payload_dry_run_cancel_and_bad_input(gc: Gc) -> None:
    image = await push_image(gc.client, "admin/gc-job", None, seed="job")
    dry = await gc.services.gc.run_job(_Job({"grace_seconds": 0, "dry_run": True}))
    assert dry is not None
    assert dry["dry_run"] is True
    assert dry["manifests"] >= 1
    assert await gc.manifest_status("admin/gc-job", image.digest) == 200

    cancelled = await gc.services.gc.run_job(_Job({"grace_seconds": 0}, cancelled=True))
    assert cancelled is not None
    assert cancelled["stopped"] is True
    assert await gc.manifest_status("admin/gc-job", image.digest) == 200

    with pytest.raises(ValueError, match="grace_seconds"):
        await gc.services.gc.run_job(_Job({"grace_seconds": -1}))

    job = _Job({"grace_seconds": 0})
    done = await gc.services.gc.run_job(job)
    assert done is not None
    assert done["manifests"] >= 1
    assert done["stopped"] is False
    assert job.progress_calls
    assert await gc.manifest_status("admin/gc-job", image.digest) == 404
    assert not gc.has_file(image.config_digest)
