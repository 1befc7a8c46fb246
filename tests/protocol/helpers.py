"""Helpers for in-process /v2 protocol tests: credentials, tokens, pushes, raw ASGI requests."""

from __future__ import annotations

import base64
import hashlib
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, unquote

import httpx
from starlette.types import ASGIApp, Message

ADMIN = ("admin", "admin-password-1")
ALICE = ("alice", "alice-password-1")
SERVICE = "moorage"

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER = "application/vnd.oci.image.layer.v1.tar+gzip"
OCI_EMPTY = "application/vnd.oci.empty.v1+json"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
DOCKER_CONFIG = "application/vnd.docker.container.image.v1+json"
DOCKER_LAYER = "application/vnd.docker.image.rootfs.diff.tar.gzip"

EMPTY_JSON = b"{}"

OCI_ERROR_CODES = frozenset(
    {
        "BLOB_UNKNOWN",
        "BLOB_UPLOAD_INVALID",
        "BLOB_UPLOAD_UNKNOWN",
        "DIGEST_INVALID",
        "MANIFEST_BLOB_UNKNOWN",
        "MANIFEST_INVALID",
        "MANIFEST_UNKNOWN",
        "NAME_INVALID",
        "NAME_UNKNOWN",
        "SIZE_INVALID",
        "TAG_INVALID",
        "UNAUTHORIZED",
        "DENIED",
        "UNSUPPORTED",
        "TOOMANYREQUESTS",
        "PAGINATION_NUMBER_INVALID",
    }
)


def sha256(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def basic(user: str, password: str) -> dict[str, str]:
    raw = base64.b64encode(f"{user}:{password}".encode()).decode()
    return {"Authorization": f"Basic {raw}"}


def admin_auth() -> dict[str, str]:
    return basic(*ADMIN)


def alice_auth() -> dict[str, str]:
    return basic(*ALICE)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def error_codes(response: httpx.Response) -> list[str]:
    """The OCI error codes of an error response; fails the test when the body is not OCI error JSON."""
    body = response.json()
    assert isinstance(body, dict), body
    errors = body.get("errors")
    assert isinstance(errors, list), body
    assert errors, body
    codes = []
    for err in errors:
        assert isinstance(err, dict), body
        assert isinstance(err.get("code"), str), body
        assert isinstance(err.get("message", ""), str), body
        codes.append(err["code"])
    return codes


def assert_error(response: httpx.Response, status: int, code: str) -> None:
    assert response.status_code == status, (response.status_code, response.text)
    assert code in error_codes(response), response.text


def parse_challenge(header: str) -> tuple[str, dict[str, str]]:
    """``Bearer realm="..",service=".."`` → ("bearer", {"realm": .., "service": ..})."""
    scheme, _, rest = header.partition(" ")
    params = dict(re.findall(r'(\w+)="([^"]*)"', rest))
    return scheme.lower(), params


async def get_token(
    client: httpx.AsyncClient,
    scope: str | Sequence[str] | None = None,
    user: str | None = None,
    pw: str | None = None,
    *,
    service: str = SERVICE,
) -> str:
    """A bearer token from /v2/auth (GET, Basic credentials when ``user`` is given)."""
    scopes = [scope] if isinstance(scope, str) else list(scope or [])
    params: list[tuple[str, str | int | float | bool | None]] = [("service", service)]
    params += [("scope", s) for s in scopes]
    headers = basic(user, pw or "") if user is not None else {}
    r = await client.get("/v2/auth", params=params, headers=headers)
    assert r.status_code == 200, r.text
    token = r.json()["token"]
    assert isinstance(token, str)
    return token


async def token_from_challenge(
    client: httpx.AsyncClient, response: httpx.Response, user: str | None = None, pw: str | None = None
) -> str:
    """Follow a 401's WWW-Authenticate the way a client does (realm path on the test client)."""
    scheme, params = parse_challenge(response.headers["www-authenticate"])
    assert scheme == "bearer"
    realm = httpx.URL(params["realm"])
    query: list[tuple[str, str | int | float | bool | None]] = [("service", params["service"])]
    if "scope" in params:
        query.append(("scope", params["scope"]))
    headers = basic(user, pw or "") if user is not None else {}
    r = await client.get(realm.path, params=query, headers=headers)
    assert r.status_code == 200, r.text
    return str(r.json()["token"])


def token_access(token: str) -> list[dict[str, Any]]:
    """The ``access`` claim of a JWT, decoded without verification."""
    payload = token.split(".")[1]
    payload += "=" * (-len(payload) % 4)
    claims = json.loads(base64.urlsafe_b64decode(payload))
    access = claims.get("access", [])
    assert isinstance(access, list)
    return access


async def push_blob(
    client: httpx.AsyncClient, name: str, data: bytes, headers: Mapping[str, str] | None = None
) -> str:
    """Monolithic push (POST then PUT ?digest=); returns the digest."""
    hdrs = dict(headers if headers is not None else admin_auth())
    digest = sha256(data)
    r = await client.post(f"/v2/{name}/blobs/uploads/", headers=hdrs)
    assert r.status_code == 202, r.text
    location = r.headers["location"]
    r = await client.put(
        location,
        params={"digest": digest},
        content=data,
        headers={**hdrs, "Content-Type": "application/octet-stream"},
    )
    assert r.status_code == 201, r.text
    assert r.headers["docker-content-digest"] == digest
    return digest


async def push_manifest(
    client: httpx.AsyncClient,
    name: str,
    reference: str,
    manifest: Mapping[str, Any] | bytes,
    media_type: str | None = None,
    headers: Mapping[str, str] | None = None,
) -> httpx.Response:
    raw = manifest if isinstance(manifest, bytes) else json.dumps(manifest).encode()
    if media_type is None and not isinstance(manifest, bytes):
        media_type = manifest.get("mediaType") or OCI_MANIFEST
    hdrs = dict(headers if headers is not None else admin_auth())
    if media_type:
        hdrs["Content-Type"] = media_type
    return await client.put(f"/v2/{name}/manifests/{reference}", content=raw, headers=hdrs)


def descriptor(media_type: str, data: bytes, **extra: Any) -> dict[str, Any]:
    return {"mediaType": media_type, "digest": sha256(data), "size": len(data), **extra}


@dataclass
class Image:
    name: str
    tag: str | None
    manifest: bytes
    digest: str
    media_type: str
    config: bytes
    config_digest: str
    layers: list[bytes] = field(default_factory=list)
    layer_digests: list[str] = field(default_factory=list)


def image_manifest(
    config: bytes,
    layers: Sequence[bytes],
    *,
    docker: bool = False,
    subject: Mapping[str, Any] | None = None,
    artifact_type: str | None = None,
    config_media_type: str | None = None,
    annotations: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    m: dict[str, Any] = {
        "schemaVersion": 2,
        "mediaType": DOCKER_MANIFEST if docker else OCI_MANIFEST,
        "config": descriptor(config_media_type or (DOCKER_CONFIG if docker else OCI_CONFIG), config),
        "layers": [descriptor(DOCKER_LAYER if docker else OCI_LAYER, layer) for layer in layers],
    }
    if subject is not None:
        m["subject"] = dict(subject)
    if artifact_type is not None:
        m["artifactType"] = artifact_type
    if annotations:
        m["annotations"] = dict(annotations)
    return m


async def push_image(
    client: httpx.AsyncClient,
    name: str,
    tag: str | None = "latest",
    *,
    headers: Mapping[str, str] | None = None,
    layers: Sequence[bytes] | None = None,
    docker: bool = False,
    seed: str = "",
    labels: Mapping[str, str] | None = None,
) -> Image:
    """Push a small image (config + layers + manifest, tagged when ``tag``); returns its digests.
    ``labels`` go to the config's ``config.Labels`` (as ``LABEL`` of a Containerfile puts them)."""
    doc: dict[str, Any] = {
        "architecture": "amd64",
        "os": "linux",
        "rootfs": {"type": "layers", "diff_ids": []},
        "seed": seed or name,
    }
    if labels is not None:
        doc["config"] = {"Labels": dict(labels)}
    config = json.dumps(doc).encode()
    layer_data = list(layers) if layers is not None else [f"layer of {name} {tag} {seed}".encode() * 64]
    config_digest = await push_blob(client, name, config, headers)
    layer_digests = [await push_blob(client, name, layer, headers) for layer in layer_data]
    manifest = image_manifest(config, layer_data, docker=docker)
    raw = json.dumps(manifest, indent=2).encode()
    digest = sha256(raw)
    r = await push_manifest(client, name, tag or digest, raw, manifest["mediaType"], headers)
    assert r.status_code == 201, r.text
    assert r.headers["docker-content-digest"] == digest
    return Image(
        name, tag, raw, digest, manifest["mediaType"], config, config_digest, layer_data, layer_digests
    )


# -- raw ASGI requests (exact paths and header bytes, no client-side normalisation) ------------------


@dataclass
class RawResponse:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


async def raw_request(
    app: ASGIApp,
    method: str,
    raw_path: str,
    headers: Sequence[tuple[bytes, bytes]] = (),
    body: bytes = b"",
    query: bytes = b"",
) -> RawResponse:
    """Call the ASGI app as an HTTP server would (path percent-decoded like uvicorn does)."""
    sent: list[Message] = []
    delivered = False

    async def receive() -> Message:
        nonlocal delivered
        if not delivered:
            delivered = True
            return {"type": "http.request", "body": body, "more_body": False}
        return {"type": "http.disconnect"}

    async def send(message: Message) -> None:
        sent.append(message)

    hdrs = [(b"host", b"testserver"), *headers]
    if body and not any(k.lower() == b"content-length" for k, _ in headers):
        hdrs.append((b"content-length", str(len(body)).encode()))
    scope: dict[str, Any] = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": unquote(raw_path),
        "raw_path": quote(raw_path, safe="/%:@!$&'()*+,;=-._~").encode("ascii"),
        "root_path": "",
        "query_string": query,
        "headers": hdrs,
        "client": ("127.0.0.1", 12345),
        "server": ("testserver", 80),
        "state": {},
    }
    try:
        await app(scope, receive, send)
    except Exception as exc:  # what an HTTP server turns into a 500
        return RawResponse(500, {}, f"unhandled {type(exc).__name__}: {exc}".encode())
    start = next(m for m in sent if m["type"] == "http.response.start")
    out_headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in start.get("headers", [])}
    out_body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return RawResponse(int(start["status"]), out_headers, out_body)


def raw_error_codes(response: RawResponse) -> list[str]:
    body = response.json()
    assert isinstance(body, dict), body
    errors = body.get("errors")
    assert isinstance(errors, list), body
    assert errors, body
    return [str(e["code"]) for e in errors]
