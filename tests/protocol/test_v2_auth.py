"""/v2/ base endpoint, the WWW-Authenticate challenge and the Docker token endpoint (/v2/auth)."""

from __future__ import annotations

import base64

import httpx
import pytest
from tests.protocol.conftest import Registry
from tests.protocol.helpers import (
    ADMIN,
    ALICE,
    SERVICE,
    admin_auth,
    alice_auth,
    assert_error,
    basic,
    bearer,
    error_codes,
    get_token,
    parse_challenge,
    push_blob,
    push_image,
    token_access,
    token_from_challenge,
)


def _actions(token: str, type_: str, name: str) -> set[str]:
    out: set[str] = set()
    for entry in token_access(token):
        if entry.get("type") == type_ and entry.get("name") == name:
            out.update(entry.get("actions", []))
    return out


async def test_base_anonymous_gets_bearer_challenge(client: httpx.AsyncClient) -> None:
    r = await client.get("/v2/")
    assert_error(r, 401, "UNAUTHORIZED")
    assert r.headers["docker-distribution-api-version"] == "registry/2.0"
    scheme, params = parse_challenge(r.headers["www-authenticate"])
    assert scheme == "bearer"
    assert params["realm"] == "http://127.0.0.1:5000/v2/auth"
    assert params["service"] == SERVICE
    assert r.headers["www-authenticate"].startswith('Bearer realm="')


async def test_base_without_trailing_slash(client: httpx.AsyncClient) -> None:
    r = await client.get("/v2")
    assert r.status_code == 401
    r = await client.get("/v2", headers=admin_auth())
    assert r.status_code == 200


async def test_base_with_basic_credentials(client: httpx.AsyncClient) -> None:
    r = await client.get("/v2/", headers=alice_auth())
    assert r.status_code == 200
    assert r.json() == {}
    assert r.headers["docker-distribution-api-version"] == "registry/2.0"


async def test_base_with_wrong_password(client: httpx.AsyncClient) -> None:
    r = await client.get("/v2/", headers=basic("alice", "not-her-password"))
    assert_error(r, 401, "UNAUTHORIZED")
    assert "www-authenticate" in r.headers


async def test_base_with_token(client: httpx.AsyncClient) -> None:
    token = await get_token(client, None, *ALICE)
    r = await client.get("/v2/", headers=bearer(token))
    assert r.status_code == 200


async def test_token_get_with_basic(client: httpx.AsyncClient, uid: str) -> None:
    name = f"alice/{uid}"
    r = await client.get(
        "/v2/auth",
        params={"service": SERVICE, "scope": f"repository:{name}:pull,push"},
        headers=alice_auth(),
    )
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("application/json")
    body = r.json()
    assert body["token"] == body["access_token"]
    assert isinstance(body["expires_in"], int)
    assert body["expires_in"] >= 60
    assert "issued_at" in body
    assert "refresh_token" not in body
    assert _actions(body["token"], "repository", name) == {"pull", "push"}


async def test_token_anonymous(client: httpx.AsyncClient, uid: str) -> None:
    r = await client.get("/v2/auth", params={"service": SERVICE, "scope": f"repository:admin/{uid}:pull"})
    assert r.status_code == 200, r.text
    token = r.json()["token"]
    assert _actions(token, "repository", f"admin/{uid}") == set()


async def test_token_bad_password(client: httpx.AsyncClient) -> None:
    r = await client.get("/v2/auth", params={"service": SERVICE}, headers=basic("alice", "wrong-password"))
    assert_error(r, 401, "UNAUTHORIZED")
    r = await client.get("/v2/auth", params={"service": SERVICE}, headers=basic("nobody-here", "whatever-pw"))
    assert_error(r, 401, "UNAUTHORIZED")


async def test_token_scope_intersection(client: httpx.AsyncClient, uid: str) -> None:
    token = await get_token(
        client, [f"repository:admin/{uid}:pull,push", f"repository:alice/{uid}:pull,push,delete"], *ALICE
    )
    assert "push" not in _actions(token, "repository", f"admin/{uid}")
    assert "pull" not in _actions(token, "repository", f"admin/{uid}")
    assert _actions(token, "repository", f"alice/{uid}") == {"pull", "push", "delete"}
    r = await client.post(f"/v2/admin/{uid}/blobs/uploads/", headers=bearer(token))
    assert r.status_code == 401
    assert error_codes(r) == ["UNAUTHORIZED"]
    _, params = parse_challenge(r.headers["www-authenticate"])
    assert params.get("error") == "insufficient_scope"


async def test_token_admin_gets_everything(client: httpx.AsyncClient, uid: str) -> None:
    token = await get_token(client, f"repository:alice/{uid}:pull,push,delete", *ADMIN)
    assert _actions(token, "repository", f"alice/{uid}") == {"pull", "push", "delete"}


async def test_token_wildcard_action_grants_all(client: httpx.AsyncClient, uid: str) -> None:
    """``repository:<name>:*`` (used by some clients) must allow pull and push when granted."""
    name = f"alice/{uid}"
    token = await get_token(client, f"repository:{name}:*", *ALICE)
    digest = await push_blob(client, name, b"wildcard", bearer(token))
    r = await client.head(f"/v2/{name}/blobs/{digest}", headers=bearer(token))
    assert r.status_code == 200


async def test_token_offline_token_returns_refresh_token(client: httpx.AsyncClient) -> None:
    r = await client.get(
        "/v2/auth", params={"service": SERVICE, "offline_token": "true"}, headers=alice_auth()
    )
    assert r.status_code == 200
    assert isinstance(r.json().get("refresh_token"), str)
    anon = await client.get("/v2/auth", params={"service": SERVICE, "offline_token": "true"})
    assert anon.status_code == 200
    assert "refresh_token" not in anon.json()


async def test_token_post_password_grant(client: httpx.AsyncClient, uid: str) -> None:
    name = f"alice/{uid}"
    r = await client.post(
        "/v2/auth",
        data={
            "grant_type": "password",
            "username": ALICE[0],
            "password": ALICE[1],
            "service": SERVICE,
            "client_id": "tests",
            "scope": f"repository:{name}:pull,push",
            "access_type": "offline",
        },
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["token_type"].lower() == "bearer"
    assert body["scope"] == f"repository:{name}:pull,push"
    assert isinstance(body["refresh_token"], str)
    await push_blob(client, name, b"password grant", bearer(body["access_token"]))


async def test_token_post_password_grant_bad_password(client: httpx.AsyncClient) -> None:
    r = await client.post(
        "/v2/auth",
        data={"grant_type": "password", "username": "alice", "password": "wrong", "service": SERVICE},
    )
    assert_error(r, 401, "UNAUTHORIZED")


async def test_token_post_refresh_token_grant(client: httpx.AsyncClient, uid: str) -> None:
    name = f"alice/{uid}"
    r = await client.get(
        "/v2/auth", params={"service": SERVICE, "offline_token": "true"}, headers=alice_auth()
    )
    refresh = r.json()["refresh_token"]
    r = await client.post(
        "/v2/auth",
        data={
            "grant_type": "refresh_token",
            "refresh_token": refresh,
            "service": SERVICE,
            "client_id": "tests",
            "scope": f"repository:{name}:pull,push repository:admin/{uid}:push",
        },
    )
    assert r.status_code == 200, r.text
    token = r.json()["access_token"]
    assert _actions(token, "repository", name) == {"pull", "push"}
    assert _actions(token, "repository", f"admin/{uid}") == set()


async def test_token_refresh_grant_rejects_access_token(client: httpx.AsyncClient) -> None:
    access = await get_token(client, None, *ALICE)
    r = await client.post(
        "/v2/auth", data={"grant_type": "refresh_token", "refresh_token": access, "service": SERVICE}
    )
    assert_error(r, 401, "UNAUTHORIZED")
    r = await client.post(
        "/v2/auth", data={"grant_type": "refresh_token", "refresh_token": "garbage", "service": SERVICE}
    )
    assert_error(r, 401, "UNAUTHORIZED")


async def test_token_post_unsupported_grant(client: httpx.AsyncClient) -> None:
    r = await client.post("/v2/auth", data={"grant_type": "client_credentials", "service": SERVICE})
    assert 400 <= r.status_code < 500
    error_codes(r)


async def test_refresh_token_is_not_an_access_token(client: httpx.AsyncClient) -> None:
    r = await client.get(
        "/v2/auth", params={"service": SERVICE, "offline_token": "true"}, headers=alice_auth()
    )
    refresh = r.json()["refresh_token"]
    r = await client.get("/v2/", headers=bearer(refresh))
    assert_error(r, 401, "UNAUTHORIZED")


async def test_token_unknown_service_rejected(client: httpx.AsyncClient) -> None:
    r = await client.get("/v2/auth", params={"service": "someone-else"}, headers=alice_auth())
    assert 400 <= r.status_code < 500
    error_codes(r)


async def test_token_endpoint_rejects_bearer_credentials(client: httpx.AsyncClient) -> None:
    r = await client.get("/v2/auth", params={"service": SERVICE}, headers=bearer("abc"))
    assert_error(r, 401, "UNAUTHORIZED")


async def test_token_endpoint_method_not_allowed(client: httpx.AsyncClient) -> None:
    r = await client.delete("/v2/auth")
    assert r.status_code == 405
    error_codes(r)


async def test_full_challenge_flow_pull(client: httpx.AsyncClient, uid: str) -> None:
    """A client follows the 401 challenge of a pull, with the scope the registry asked for."""
    name = f"alice/{uid}"
    image = await push_image(client, name, "v1", headers=alice_auth())
    r = await client.get(f"/v2/{name}/manifests/v1")
    assert r.status_code == 401
    _, params = parse_challenge(r.headers["www-authenticate"])
    assert params["scope"] == f"repository:{name}:pull"
    token = await token_from_challenge(client, r, *ALICE)
    r = await client.get(f"/v2/{name}/manifests/v1", headers=bearer(token))
    assert r.status_code == 200
    assert r.content == image.manifest


async def test_full_challenge_flow_push(client: httpx.AsyncClient, uid: str) -> None:
    name = f"alice/{uid}"
    r = await client.post(f"/v2/{name}/blobs/uploads/")
    assert r.status_code == 401
    _, params = parse_challenge(r.headers["www-authenticate"])
    assert params["scope"] == f"repository:{name}:pull,push"
    token = await token_from_challenge(client, r, *ALICE)
    await push_blob(client, name, b"challenge push", bearer(token))


@pytest.mark.parametrize(
    "header",
    [
        "Bearer",
        "Bearer ",
        "Bearer not.a.jwt",
        "Bearer eyJhbGciOiJub25lIn0.eyJzdWIiOiJhZG1pbiJ9.",
        "Basic",
        "Basic !!!not-base64!!!",
        "Basic " + base64.b64encode(b"no-colon").decode(),
        "Basic " + base64.b64encode(b"\xff\xfe:\xff").decode(),
        "Digest username=admin",
        "Negotiate abc",
        "garbage",
    ],
)
async def test_bogus_authorization_headers(client: httpx.AsyncClient, header: str, uid: str) -> None:
    for path in ("/v2/", f"/v2/admin/{uid}/tags/list", "/v2/_catalog"):
        r = await client.get(path, headers={"Authorization": header})
        assert r.status_code == 401, (path, r.status_code, r.text)
        assert error_codes(r) == ["UNAUTHORIZED"]
    r = await client.get("/v2/auth", params={"service": SERVICE}, headers={"Authorization": header})
    assert r.status_code == 401, r.text
    error_codes(r)


async def test_token_signed_by_another_key_rejected(registry: Registry, tmp_path: object) -> None:
    import jwt
    from cryptography.hazmat.primitives.asymmetric import ec

    other = ec.generate_private_key(ec.SECP256R1())
    forged = jwt.encode(
        {"iss": "moorage", "sub": "admin", "aud": SERVICE, "exp": 4102444800, "access": []},
        other,
        algorithm="ES256",
    )
    r = await registry.client.get("/v2/", headers=bearer(forged))
    assert_error(r, 401, "UNAUTHORIZED")
