"""Pushing blobs: monolithic, single POST, chunked, resumable, cancelled, verified, mounted."""

from __future__ import annotations

import hashlib

import httpx
from tests.protocol.conftest import Registry
from tests.protocol.helpers import (
    ADMIN,
    admin_auth,
    alice_auth,
    assert_error,
    error_codes,
    push_blob,
    push_manifest,
    sha256,
)

from moorage.domain.actor import Actor

AUTH = admin_auth()


async def _start(client: httpx.AsyncClient, name: str, headers: dict[str, str] | None = None) -> str:
    r = await client.post(f"/v2/{name}/blobs/uploads/", headers=headers or AUTH)
    assert r.status_code == 202, r.text
    location = r.headers["location"]
    assert location.startswith(f"/v2/{name}/blobs/uploads/") or f"/v2/{name}/blobs/uploads/" in location
    assert r.headers.get("docker-upload-uuid")
    return location


async def _blob_absent(client: httpx.AsyncClient, name: str, digest: str) -> None:
    r = await client.head(f"/v2/{name}/blobs/{digest}", headers=AUTH)
    assert r.status_code == 404, r.status_code


async def test_monolithic_post_put(client: httpx.AsyncClient, uid: str) -> None:
    name = f"admin/{uid}"
    data = b"monolithic" * 1000
    location = await _start(client, name)
    r = await client.put(location, params={"digest": sha256(data)}, content=data, headers=AUTH)
    assert r.status_code == 201, r.text
    assert r.headers["location"].endswith(f"/v2/{name}/blobs/{sha256(data)}")
    assert r.headers["docker-content-digest"] == sha256(data)
    r = await client.get(r.headers["location"], headers=AUTH)
    assert r.content == data


async def test_single_post_with_digest(client: httpx.AsyncClient, uid: str) -> None:
    name = f"admin/{uid}"
    data = b"single post" * 333
    r = await client.post(
        f"/v2/{name}/blobs/uploads/",
        params={"digest": sha256(data)},
        content=data,
        headers={**AUTH, "Content-Type": "application/octet-stream"},
    )
    assert r.status_code == 201, r.text
    assert r.headers["docker-content-digest"] == sha256(data)
    assert r.headers["location"].endswith(f"/blobs/{sha256(data)}")
    r = await client.get(f"/v2/{name}/blobs/{sha256(data)}", headers=AUTH)
    assert r.content == data


async def test_single_post_wrong_digest(client: httpx.AsyncClient, uid: str) -> None:
    name = f"admin/{uid}"
    data = b"what was sent"
    claimed = sha256(b"something else")
    r = await client.post(
        f"/v2/{name}/blobs/uploads/", params={"digest": claimed}, content=data, headers=AUTH
    )
    assert_error(r, 400, "DIGEST_INVALID")
    await _blob_absent(client, name, claimed)
    await _blob_absent(client, name, sha256(data))


async def test_sha512_blob(client: httpx.AsyncClient, uid: str) -> None:
    name = f"admin/{uid}"
    data = b"sha512 content" * 50
    digest = "sha512:" + hashlib.sha512(data).hexdigest()
    location = await _start(client, name)
    r = await client.put(location, params={"digest": digest}, content=data, headers=AUTH)
    assert r.status_code == 201, r.text
    assert r.headers["docker-content-digest"] == digest
    r = await client.get(f"/v2/{name}/blobs/{digest}", headers=AUTH)
    assert r.status_code == 200
    assert r.content == data


async def test_wrong_digest_is_rejected_and_not_stored(client: httpx.AsyncClient, uid: str) -> None:
    name = f"admin/{uid}"
    data = b"real bytes"
    claimed = sha256(b"claimed bytes")
    location = await _start(client, name)
    r = await client.put(location, params={"digest": claimed}, content=data, headers=AUTH)
    assert_error(r, 400, "DIGEST_INVALID")
    await _blob_absent(client, name, claimed)
    await _blob_absent(client, name, sha256(data))


async def test_put_without_digest(client: httpx.AsyncClient, uid: str) -> None:
    name = f"admin/{uid}"
    location = await _start(client, name)
    r = await client.put(location, content=b"x", headers=AUTH)
    assert 400 <= r.status_code < 500
    assert "DIGEST_INVALID" in error_codes(r)


async def test_chunked_upload(client: httpx.AsyncClient, uid: str) -> None:
    name = f"admin/{uid}"
    chunks = [b"a" * 1000, b"b" * 2000, b"c" * 5]
    data = b"".join(chunks)
    location = await _start(client, name)
    offset = 0
    for chunk in chunks:
        r = await client.patch(
            location,
            content=chunk,
            headers={
                **AUTH,
                "Content-Type": "application/octet-stream",
                "Content-Range": f"{offset}-{offset + len(chunk) - 1}",
            },
        )
        assert r.status_code == 202, r.text
        offset += len(chunk)
        assert r.headers["range"] == f"0-{offset - 1}"
        assert r.headers["docker-upload-uuid"]
        location = r.headers["location"]
    r = await client.put(location, params={"digest": sha256(data)}, headers=AUTH)
    assert r.status_code == 201, r.text
    r = await client.get(f"/v2/{name}/blobs/{sha256(data)}", headers=AUTH)
    assert r.content == data


async def test_chunked_upload_without_content_range(client: httpx.AsyncClient, uid: str) -> None:
    """Streamed PATCH (docker style): no Content-Range; the final PUT carries the last bytes."""
    name = f"admin/{uid}"
    location = await _start(client, name)
    r = await client.patch(location, content=b"first part ", headers=AUTH)
    assert r.status_code == 202
    assert r.headers["range"] == "0-10"
    r = await client.put(
        r.headers["location"], params={"digest": sha256(b"first part last")}, content=b"last", headers=AUTH
    )
    assert r.status_code == 201, r.text
    r = await client.get(f"/v2/{name}/blobs/{sha256(b'first part last')}", headers=AUTH)
    assert r.content == b"first part last"


async def test_out_of_order_chunk(client: httpx.AsyncClient, uid: str) -> None:
    name = f"admin/{uid}"
    location = await _start(client, name)
    r = await client.patch(location, content=b"0123456789", headers={**AUTH, "Content-Range": "0-9"})
    assert r.status_code == 202
    r = await client.patch(location, content=b"abcdefghij", headers={**AUTH, "Content-Range": "20-29"})
    assert r.status_code == 416, r.text
    assert error_codes(r) == ["BLOB_UPLOAD_INVALID"]
    assert int(r.headers["content-length"]) == len(r.content) > 0
    # the refusal says where the upload really is, as the distribution spec asks
    assert (r.headers["range"], r.headers["location"]) == ("0-9", location)
    r = await client.patch(location, content=b"abcdefghij", headers={**AUTH, "Content-Range": "0-9"})
    assert r.status_code == 416, r.text
    # the upload is still usable from where it really is
    r = await client.get(location, headers=AUTH)
    assert r.headers["range"] == "0-9"
    r = await client.patch(location, content=b"abcdefghij", headers={**AUTH, "Content-Range": "10-19"})
    assert r.status_code == 202
    r = await client.put(location, params={"digest": sha256(b"0123456789abcdefghij")}, headers=AUTH)
    assert r.status_code == 201


async def test_first_chunk_must_start_at_zero(client: httpx.AsyncClient, uid: str) -> None:
    name = f"admin/{uid}"
    location = await _start(client, name)
    r = await client.patch(location, content=b"xyz", headers={**AUTH, "Content-Range": "5-7"})
    assert r.status_code == 416, r.text


async def test_upload_status(client: httpx.AsyncClient, uid: str) -> None:
    name = f"admin/{uid}"
    location = await _start(client, name)
    r = await client.get(location, headers=AUTH)
    assert r.status_code == 204
    assert r.headers["location"] == location
    assert r.headers["range"] == "0-0"
    await client.patch(location, content=b"12345", headers={**AUTH, "Content-Range": "0-4"})
    r = await client.get(location, headers=AUTH)
    assert r.status_code == 204
    assert r.headers["range"] == "0-4"
    assert r.headers["location"] == location
    assert r.headers["docker-upload-uuid"] == location.rsplit("/", 1)[1]


async def test_resume_after_reconnect(registry: Registry, uid: str) -> None:
    name = f"admin/{uid}"
    data = b"resumable " * 500
    location = await _start(registry.client, name)
    r = await registry.client.patch(
        location, content=data[:1234], headers={**AUTH, "Content-Range": "0-1233"}
    )
    assert r.status_code == 202
    async with registry.new_client() as client2:
        r = await client2.get(location, headers=AUTH)
        assert r.status_code == 204
        assert r.headers["range"] == "0-1233"
        r = await client2.patch(
            location, content=data[1234:], headers={**AUTH, "Content-Range": f"1234-{len(data) - 1}"}
        )
        assert r.status_code == 202
        r = await client2.put(location, params={"digest": sha256(data)}, headers=AUTH)
        assert r.status_code == 201, r.text
    r = await registry.client.get(f"/v2/{name}/blobs/{sha256(data)}", headers=AUTH)
    assert r.content == data


async def test_resume_after_server_restart(registry: Registry, uid: str) -> None:
    """The running hash is lost with the process: the digest must still be verified correctly."""
    name = f"admin/{uid}"
    data = b"restart " * 700
    location = await _start(registry.client, name)
    await registry.client.patch(location, content=data[:100], headers={**AUTH, "Content-Range": "0-99"})
    async with registry.restarted() as client2:
        r = await client2.get(location, headers=AUTH)
        assert r.status_code == 204
        assert r.headers["range"] == "0-99"
        r = await client2.patch(
            location, content=data[100:], headers={**AUTH, "Content-Range": f"100-{len(data) - 1}"}
        )
        assert r.status_code == 202
        bad = await client2.put(location, params={"digest": sha256(b"nope")}, headers=AUTH)
        assert_error(bad, 400, "DIGEST_INVALID")
    location = await _start(registry.client, name)
    await registry.client.patch(location, content=data[:100], headers={**AUTH, "Content-Range": "0-99"})
    async with registry.restarted() as client3:
        r = await client3.put(location, params={"digest": sha256(data)}, content=data[100:], headers=AUTH)
        assert r.status_code == 201, r.text
    r = await registry.client.get(f"/v2/{name}/blobs/{sha256(data)}", headers=AUTH)
    assert r.content == data


async def test_cancel_upload(client: httpx.AsyncClient, uid: str) -> None:
    name = f"admin/{uid}"
    location = await _start(client, name)
    await client.patch(location, content=b"abc", headers=AUTH)
    r = await client.delete(location, headers=AUTH)
    assert r.status_code == 204
    assert_error(await client.get(location, headers=AUTH), 404, "BLOB_UPLOAD_UNKNOWN")
    assert_error(await client.patch(location, content=b"more", headers=AUTH), 404, "BLOB_UPLOAD_UNKNOWN")
    assert_error(
        await client.put(location, params={"digest": sha256(b"abc")}, headers=AUTH),
        404,
        "BLOB_UPLOAD_UNKNOWN",
    )
    assert_error(await client.delete(location, headers=AUTH), 404, "BLOB_UPLOAD_UNKNOWN")


async def test_upload_unknown_ids(client: httpx.AsyncClient, uid: str) -> None:
    name = f"admin/{uid}"
    await _start(client, name)
    for upload_id in ("0" * 32, "not-an-id", "ABCDEF" * 6, "g" * 32):
        r = await client.get(f"/v2/{name}/blobs/uploads/{upload_id}", headers=AUTH)
        assert_error(r, 404, "BLOB_UPLOAD_UNKNOWN")


async def test_upload_belongs_to_its_repository(client: httpx.AsyncClient, uid: str) -> None:
    location = await _start(client, f"admin/{uid}-a")
    upload_id = location.rsplit("/", 1)[1]
    await _start(client, f"admin/{uid}-b")
    r = await client.get(f"/v2/admin/{uid}-b/blobs/uploads/{upload_id}", headers=AUTH)
    assert_error(r, 404, "BLOB_UPLOAD_UNKNOWN")


async def test_upload_is_single_use(client: httpx.AsyncClient, uid: str) -> None:
    name = f"admin/{uid}"
    location = await _start(client, name)
    r = await client.put(location, params={"digest": sha256(b"once")}, content=b"once", headers=AUTH)
    assert r.status_code == 201
    assert_error(await client.get(location, headers=AUTH), 404, "BLOB_UPLOAD_UNKNOWN")


async def test_cross_repository_mount(client: httpx.AsyncClient, uid: str) -> None:
    source, target = f"admin/{uid}-src", f"admin/{uid}-dst"
    digest = await push_blob(client, source, b"mount me")
    r = await client.post(
        f"/v2/{target}/blobs/uploads/", params={"mount": digest, "from": source}, headers=AUTH
    )
    assert r.status_code == 201, r.text
    assert r.headers["location"].endswith(f"/v2/{target}/blobs/{digest}")
    assert r.headers["docker-content-digest"] == digest
    r = await client.get(f"/v2/{target}/blobs/{digest}", headers=AUTH)
    assert r.content == b"mount me"


async def test_mount_missing_blob_falls_back_to_upload(client: httpx.AsyncClient, uid: str) -> None:
    source, target = f"admin/{uid}-src", f"admin/{uid}-dst"
    await push_blob(client, source, b"present")
    missing = sha256(b"absent")
    r = await client.post(
        f"/v2/{target}/blobs/uploads/", params={"mount": missing, "from": source}, headers=AUTH
    )
    assert r.status_code == 202, r.text
    assert "/blobs/uploads/" in r.headers["location"]


async def test_mount_from_unreadable_repository_falls_back(client: httpx.AsyncClient, uid: str) -> None:
    secret = f"admin/{uid}-secret"
    digest = await push_blob(client, secret, b"admin only secret")
    target = f"alice/{uid}"
    r = await client.post(
        f"/v2/{target}/blobs/uploads/", params={"mount": digest, "from": secret}, headers=alice_auth()
    )
    assert r.status_code == 202, r.text
    assert "/blobs/uploads/" in r.headers["location"]
    r = await client.head(f"/v2/{target}/blobs/{digest}", headers=alice_auth())
    assert r.status_code == 404


async def test_mount_without_from(client: httpx.AsyncClient, uid: str) -> None:
    digest = await push_blob(client, f"admin/{uid}-src", b"no from")
    r = await client.post(f"/v2/admin/{uid}-dst/blobs/uploads/", params={"mount": digest}, headers=AUTH)
    assert r.status_code in (201, 202)


async def test_mount_with_malformed_digest(client: httpx.AsyncClient, uid: str) -> None:
    await push_blob(client, f"admin/{uid}-src", b"x")
    r = await client.post(
        f"/v2/admin/{uid}-dst/blobs/uploads/",
        params={"mount": "sha256:zzz", "from": f"admin/{uid}-src"},
        headers=AUTH,
    )
    assert 400 <= r.status_code < 500
    error_codes(r)


async def test_repush_existing_blob(client: httpx.AsyncClient, uid: str) -> None:
    name = f"admin/{uid}"
    a = await push_blob(client, name, b"same bytes")
    b = await push_blob(client, name, b"same bytes")
    c = await push_blob(client, f"admin/{uid}-other", b"same bytes")
    assert a == b == c


async def test_delete_blob(client: httpx.AsyncClient, uid: str) -> None:
    name = f"admin/{uid}"
    digest = await push_blob(client, name, b"delete me")
    other = await push_blob(client, f"admin/{uid}-keep", b"delete me")
    assert other == digest
    r = await client.delete(f"/v2/{name}/blobs/{digest}", headers=AUTH)
    assert r.status_code == 202
    assert_error(await client.get(f"/v2/{name}/blobs/{digest}", headers=AUTH), 404, "BLOB_UNKNOWN")
    assert_error(await client.delete(f"/v2/{name}/blobs/{digest}", headers=AUTH), 404, "BLOB_UNKNOWN")
    r = await client.get(f"/v2/admin/{uid}-keep/blobs/{digest}", headers=AUTH)
    assert r.status_code == 200
    assert r.content == b"delete me"


async def test_superuser_push_outside_any_namespace_is_refused(registry: Registry, uid: str) -> None:
    """A push to a namespace nobody owns, or to a bare name, must not create a repository without a
    namespace (it did for superusers: "app / app" in the UI, breadcrumbs to a 404)."""
    client = registry.client
    source = f"admin/{uid}-src"
    layer = f"layer of {uid}".encode()
    digest = await push_blob(client, source, layer)
    for name, says in (
        (f"nosuchorg{uid}/app", f"'nosuchorg{uid}' does not exist"),
        (f"app{uid}", "namespace"),
    ):
        # the upload is refused before any byte is sent
        r = await client.post(f"/v2/{name}/blobs/uploads/", headers=AUTH)
        assert_error(r, 404, "NAME_UNKNOWN")
        assert says in r.json()["errors"][0]["message"], r.json()
        # single-request upload, cross-repository mount, and a manifest PUT are refused as well
        r = await client.post(
            f"/v2/{name}/blobs/uploads/", params={"digest": digest}, content=layer, headers=AUTH
        )
        assert_error(r, 404, "NAME_UNKNOWN")
        r = await client.post(
            f"/v2/{name}/blobs/uploads/", params={"mount": digest, "from": source}, headers=AUTH
        )
        assert_error(r, 404, "NAME_UNKNOWN")
        manifest = {
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": {
                "mediaType": "application/vnd.oci.image.config.v1+json",
                "digest": digest,
                "size": len(layer),
            },
            "layers": [],
        }
        r = await push_manifest(client, name, "1", manifest)
        assert_error(r, 404, "NAME_UNKNOWN")
        assert await registry.services.repositories.get(name) is None
        assert_error(await client.get(f"/v2/{name}/tags/list", headers=AUTH), 404, "NAME_UNKNOWN")


async def test_push_into_an_organization_created_later_works(registry: Registry, uid: str) -> None:
    client = registry.client
    name = f"later{uid}/app"
    r = await client.post(f"/v2/{name}/blobs/uploads/", headers=AUTH)
    assert_error(r, 404, "NAME_UNKNOWN")
    admin = await registry.services.users.get(ADMIN[0])
    assert admin is not None
    await registry.services.organizations.create(f"later{uid}", None, Actor(ADMIN[0]), admin.id)
    await push_blob(client, name, b"now it exists")
    found = await registry.services.repositories.get(name)
    assert found is not None
