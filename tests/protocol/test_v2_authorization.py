"""Who may pull and push what: owners, superusers, other users, anonymous, public repositories."""

from __future__ import annotations

import httpx
from tests.protocol.conftest import Registry
from tests.protocol.helpers import (
    ALICE,
    admin_auth,
    alice_auth,
    assert_error,
    bearer,
    error_codes,
    get_token,
    parse_challenge,
    push_image,
    push_manifest,
    sha256,
)


async def test_alice_cannot_push_to_admin_namespace(client: httpx.AsyncClient, uid: str) -> None:
    name = f"admin/{uid}"
    await push_image(client, name, "v1")
    r = await client.post(f"/v2/{name}/blobs/uploads/", headers=alice_auth())
    assert r.status_code in (401, 403)
    assert set(error_codes(r)) & {"DENIED", "UNAUTHORIZED"}
    r = await client.put(f"/v2/{name}/manifests/v2", content=b"{}", headers=alice_auth())
    assert r.status_code in (401, 403)
    r = await client.delete(f"/v2/{name}/manifests/v1", headers=alice_auth())
    assert r.status_code in (401, 403)
    r = await client.get(f"/v2/{name}/manifests/v1", headers=admin_auth())
    assert r.status_code == 200


async def test_alice_cannot_pull_private_admin_repository(client: httpx.AsyncClient, uid: str) -> None:
    name = f"admin/{uid}"
    image = await push_image(client, name, "v1")
    for path in (
        f"/v2/{name}/manifests/v1",
        f"/v2/{name}/blobs/{image.config_digest}",
        f"/v2/{name}/tags/list",
    ):
        r = await client.get(path, headers=alice_auth())
        assert r.status_code in (401, 403), path
        error_codes(r)


async def test_alice_owns_her_namespace(client: httpx.AsyncClient, uid: str) -> None:
    name = f"alice/{uid}/nested/app"
    image = await push_image(client, name, "v1", headers=alice_auth())
    r = await client.get(f"/v2/{name}/manifests/v1", headers=alice_auth())
    assert r.status_code == 200
    r = await client.delete(f"/v2/{name}/manifests/{image.digest}", headers=alice_auth())
    assert r.status_code == 202
    # the superuser may read it too
    r = await client.get(f"/v2/{name}/tags/list", headers=admin_auth())
    assert r.status_code == 200


async def test_alice_cannot_push_top_level_name(client: httpx.AsyncClient, uid: str) -> None:
    r = await client.post(f"/v2/{uid}/blobs/uploads/", headers=alice_auth())
    assert r.status_code in (401, 403)


async def test_alice_cannot_push_to_prefix_lookalike(client: httpx.AsyncClient, uid: str) -> None:
    r = await client.post(f"/v2/alice{uid}/x/blobs/uploads/", headers=alice_auth())
    assert r.status_code in (401, 403)
    r = await client.post(f"/v2/alice-{uid}/x/blobs/uploads/", headers=alice_auth())
    assert r.status_code in (401, 403)


async def test_anonymous_cannot_pull_private(client: httpx.AsyncClient, uid: str) -> None:
    name = f"admin/{uid}"
    image = await push_image(client, name, "v1")
    for path in (
        f"/v2/{name}/manifests/v1",
        f"/v2/{name}/blobs/{image.config_digest}",
        f"/v2/{name}/tags/list",
    ):
        r = await client.get(path)
        assert_error(r, 401, "UNAUTHORIZED")
        scheme, params = parse_challenge(r.headers["www-authenticate"])
        assert scheme == "bearer"
        assert params["scope"] == f"repository:{name}:pull"
    r = await client.head(f"/v2/{name}/manifests/v1")
    assert r.status_code == 401
    token = await get_token(client, f"repository:{name}:pull")
    r = await client.get(f"/v2/{name}/manifests/v1", headers=bearer(token))
    assert r.status_code == 401


async def test_anonymous_can_pull_public(registry: Registry, uid: str) -> None:
    client = registry.client
    name = f"admin/{uid}"
    image = await push_image(client, name, "v1")
    assert await registry.services.registry.repositories.set_visibility(name, "public")
    token = await get_token(client, f"repository:{name}:pull,push")
    r = await client.get(f"/v2/{name}/manifests/v1", headers=bearer(token))
    assert r.status_code == 200
    assert r.content == image.manifest
    r = await client.get(f"/v2/{name}/blobs/{image.layer_digests[0]}", headers=bearer(token))
    assert r.content == image.layers[0]
    r = await client.get(f"/v2/{name}/manifests/v1")  # no credentials at all
    assert r.status_code == 200
    r = await client.get(f"/v2/{name}/tags/list")
    assert r.json()["tags"] == ["v1"]
    # but not push
    r = await client.post(f"/v2/{name}/blobs/uploads/", headers=bearer(token))
    assert r.status_code == 401
    r = await client.post(f"/v2/{name}/blobs/uploads/")
    assert r.status_code == 401
    # alice may pull it, not push
    r = await client.get(f"/v2/{name}/manifests/v1", headers=alice_auth())
    assert r.status_code == 200
    r = await client.post(f"/v2/{name}/blobs/uploads/", headers=alice_auth())
    assert r.status_code in (401, 403)
    alice_token = await get_token(client, f"repository:{name}:pull,push", *ALICE)
    r = await client.put(f"/v2/{name}/manifests/x", content=image.manifest, headers=bearer(alice_token))
    assert r.status_code == 401


async def test_public_back_to_private(registry: Registry, uid: str) -> None:
    client = registry.client
    name = f"admin/{uid}"
    await push_image(client, name, "v1")
    await registry.services.registry.repositories.set_visibility(name, "public")
    assert (await client.get(f"/v2/{name}/manifests/v1")).status_code == 200
    await registry.services.registry.repositories.set_visibility(name, "private")
    assert (await client.get(f"/v2/{name}/manifests/v1")).status_code == 401


async def test_token_scope_is_per_repository(client: httpx.AsyncClient, uid: str) -> None:
    a, b = f"alice/{uid}-a", f"alice/{uid}-b"
    await push_image(client, a, "v1", headers=alice_auth())
    await push_image(client, b, "v1", headers=alice_auth())
    token = await get_token(client, f"repository:{a}:pull", *ALICE)
    assert (await client.get(f"/v2/{a}/manifests/v1", headers=bearer(token))).status_code == 200
    r = await client.get(f"/v2/{b}/manifests/v1", headers=bearer(token))
    assert_error(r, 401, "UNAUTHORIZED")
    # pull-only token cannot push
    r = await client.post(f"/v2/{a}/blobs/uploads/", headers=bearer(token))
    assert_error(r, 401, "UNAUTHORIZED")
    _, params = parse_challenge(r.headers["www-authenticate"])
    assert params["error"] == "insufficient_scope"
    assert params["scope"] == f"repository:{a}:pull,push"


async def test_delete_needs_delete_action(client: httpx.AsyncClient, uid: str) -> None:
    name = f"alice/{uid}"
    image = await push_image(client, name, "v1", headers=alice_auth())
    token = await get_token(client, f"repository:{name}:pull,push", *ALICE)
    r = await client.delete(f"/v2/{name}/manifests/{image.digest}", headers=bearer(token))
    assert_error(r, 401, "UNAUTHORIZED")
    token = await get_token(client, f"repository:{name}:delete", *ALICE)
    r = await client.delete(f"/v2/{name}/manifests/{image.digest}", headers=bearer(token))
    assert r.status_code == 202


async def test_push_with_pull_push_token_roundtrip(client: httpx.AsyncClient, uid: str) -> None:
    name = f"alice/{uid}"
    token = await get_token(client, f"repository:{name}:pull,push", *ALICE)
    image = await push_image(client, name, "v1", headers=bearer(token))
    r = await push_manifest(client, name, "v2", image.manifest, headers=bearer(token))
    assert r.status_code == 201
    assert (await client.get(f"/v2/{name}/manifests/v2", headers=bearer(token))).status_code == 200
    assert (
        await client.head(f"/v2/{name}/blobs/{sha256(image.config)}", headers=bearer(token))
    ).status_code == 200
