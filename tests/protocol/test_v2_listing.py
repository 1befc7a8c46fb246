"""Tag listing and the catalog, with pagination."""

from __future__ import annotations

import json
from urllib.parse import parse_qs, urlsplit

import httpx
from tests.protocol.conftest import Registry
from tests.protocol.helpers import (
    OCI_MANIFEST,
    admin_auth,
    alice_auth,
    assert_error,
    bearer,
    get_token,
    push_image,
    push_manifest,
)

AUTH = admin_auth()


def _next_link(r: httpx.Response) -> str | None:
    link = r.headers.get("link")
    if link is None:
        return None
    target, _, rel = link.partition(";")
    assert rel.strip() == 'rel="next"', link
    assert target.startswith("<"), link
    assert target.endswith(">"), link
    return str(target[1:-1])


async def _tagged(client: httpx.AsyncClient, name: str, tags: list[str]) -> None:
    image = await push_image(client, name, tags[0])
    for tag in tags[1:]:
        r = await push_manifest(client, name, tag, image.manifest, OCI_MANIFEST)
        assert r.status_code == 201


async def test_tags_list(client: httpx.AsyncClient, uid: str) -> None:
    name = f"admin/{uid}"
    tags = ["v2", "v10", "latest", "A-upper", "v1", "1.0", "_underscore"]
    await _tagged(client, name, tags)
    r = await client.get(f"/v2/{name}/tags/list", headers=AUTH)
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("application/json")
    body = r.json()
    assert body["name"] == name
    assert body["tags"] == sorted(tags)  # lexical (code point) order
    assert "link" not in r.headers


async def test_tags_pagination(client: httpx.AsyncClient, uid: str) -> None:
    name = f"admin/{uid}"
    tags = [f"t{i:02d}" for i in range(7)]
    await _tagged(client, name, tags)
    r = await client.get(f"/v2/{name}/tags/list", params={"n": 3}, headers=AUTH)
    assert r.status_code == 200
    assert r.json()["tags"] == tags[:3]
    link = _next_link(r)
    assert link is not None
    parts = urlsplit(link)
    assert parts.path == f"/v2/{name}/tags/list"
    assert parse_qs(parts.query) == {"n": ["3"], "last": [tags[2]]}
    seen: list[str] = list(r.json()["tags"])
    while link is not None:
        r = await client.get(link, headers=AUTH)
        assert r.status_code == 200
        seen += r.json()["tags"]
        link = _next_link(r)
    assert seen == tags
    r = await client.get(f"/v2/{name}/tags/list", params={"n": 3, "last": "t05"}, headers=AUTH)
    assert r.json()["tags"] == ["t06"]
    assert "link" not in r.headers
    r = await client.get(f"/v2/{name}/tags/list", params={"last": "t03"}, headers=AUTH)
    assert r.json()["tags"] == ["t04", "t05", "t06"]
    r = await client.get(f"/v2/{name}/tags/list", params={"n": 7}, headers=AUTH)
    assert r.json()["tags"] == tags
    assert "link" not in r.headers


async def test_tags_pagination_n_zero(client: httpx.AsyncClient, uid: str) -> None:
    name = f"admin/{uid}"
    await _tagged(client, name, ["a", "b"])
    r = await client.get(f"/v2/{name}/tags/list", params={"n": 0}, headers=AUTH)
    assert r.status_code == 200
    assert r.json()["tags"] == []


async def test_tags_pagination_bad_n(client: httpx.AsyncClient, uid: str) -> None:
    name = f"admin/{uid}"
    await _tagged(client, name, ["a"])
    for n in ("-1", "abc", "1.5"):
        r = await client.get(f"/v2/{name}/tags/list", params={"n": n}, headers=AUTH)
        assert 400 <= r.status_code < 500
        assert "PAGINATION_NUMBER_INVALID" in [e["code"] for e in r.json()["errors"]]


async def test_tags_of_repository_without_tags(client: httpx.AsyncClient, uid: str) -> None:
    name = f"admin/{uid}"
    await push_image(client, name, None)
    r = await client.get(f"/v2/{name}/tags/list", headers=AUTH)
    assert r.status_code == 200
    assert r.json() == {"name": name, "tags": []}


async def _catalog_all(client: httpx.AsyncClient, headers: dict[str, str], n: int) -> list[str]:
    url: str | None = f"/v2/_catalog?n={n}"
    seen: list[str] = []
    pages = 0
    while url is not None:
        r = await client.get(url, headers=headers)
        assert r.status_code == 200, r.text
        page = r.json()["repositories"]
        assert len(page) <= n
        seen += page
        url = _next_link(r)
        if url is not None:
            assert urlsplit(url).path == "/v2/_catalog"
            assert parse_qs(urlsplit(url).query)["last"] == [page[-1]]
        pages += 1
        assert pages < 1000
    return seen


async def test_catalog_pagination(client: httpx.AsyncClient, uid: str) -> None:
    names = [f"admin/{uid}-{i}" for i in range(5)]
    for name in names:
        await push_image(client, name, "v1")
    everything = await _catalog_all(client, AUTH, 1000)
    assert everything == sorted(everything)
    assert len(everything) == len(set(everything))
    assert set(names) <= set(everything)
    paged = await _catalog_all(client, AUTH, 2)
    assert paged == everything
    r = await client.get("/v2/_catalog", params={"n": 2, "last": names[1]}, headers=AUTH)
    assert r.json()["repositories"][:2] == names[2:4]


async def test_catalog_visibility_for_alice(registry: Registry, uid: str) -> None:
    client = registry.client
    mine = f"alice/{uid}"
    private = f"admin/{uid}-private"
    public = f"admin/{uid}-public"
    await push_image(client, mine, "v1", headers=alice_auth())
    await push_image(client, private, "v1")
    await push_image(client, public, "v1")
    assert await registry.services.registry.repositories.set_visibility(public, "public")
    seen = await _catalog_all(client, alice_auth(), 1000)
    assert mine in seen
    assert public in seen
    assert private not in seen
    for name in seen:
        info = await registry.services.registry.repositories.get(name)
        assert info is not None
        assert name.startswith("alice/") or info.is_public, name
    # with a bearer token for the catalog scope
    token = await get_token(client, "registry:catalog:*", "alice", "alice-password-1")
    r = await client.get("/v2/_catalog", headers=bearer(token))
    assert r.status_code == 200
    via_token = r.json()["repositories"]
    assert mine in via_token
    assert private not in via_token
    # paging keeps the filter
    assert await _catalog_all(client, alice_auth(), 3) == seen


async def test_catalog_requires_authentication_or_scope(client: httpx.AsyncClient) -> None:
    r = await client.get("/v2/_catalog")
    assert_error(r, 401, "UNAUTHORIZED")
    token = await get_token(client, "repository:admin/x:pull", "alice", "alice-password-1")
    r = await client.get("/v2/_catalog", headers=bearer(token))
    assert_error(r, 401, "UNAUTHORIZED")


async def test_catalog_anonymous_token_sees_only_public(registry: Registry, uid: str) -> None:
    client = registry.client
    public = f"admin/{uid}-pub"
    await push_image(client, public, "v1")
    await push_image(client, f"admin/{uid}-priv", "v1")
    await registry.services.registry.repositories.set_visibility(public, "public")
    token = await get_token(client, "registry:catalog:*")
    r = await client.get("/v2/_catalog", params={"n": 100000}, headers=bearer(token))
    assert r.status_code == 200, r.text
    names = r.json()["repositories"]
    assert public in names
    assert f"admin/{uid}-priv" not in names


async def test_catalog_body_shape(client: httpx.AsyncClient) -> None:
    r = await client.get("/v2/_catalog", params={"n": 1}, headers=AUTH)
    assert r.status_code == 200
    assert set(json.loads(r.content)) == {"repositories"}
