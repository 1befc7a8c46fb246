"""Hostile numbers, nesting and sizes on /v2: each answered in OCI error form, never a 500.

Found by an adversarial pass (issue 7): integers of thousands of digits in ``Range`` and
``Content-Range``, a manifest nested 1,000 levels deep, descriptors whose ``size`` is not the stored
blob's, and 405 answers without ``Allow``.
"""

from __future__ import annotations

import json

import httpx
import pytest
import pytest_asyncio
from hypothesis import given, settings
from hypothesis import strategies as st
from tests.protocol.conftest import Registry
from tests.protocol.helpers import (
    OCI_ERROR_CODES,
    OCI_INDEX,
    OCI_MANIFEST,
    admin_auth,
    assert_error,
    error_codes,
    push_blob,
    push_image,
    push_manifest,
    raw_error_codes,
    raw_request,
    sha256,
)

AUTH = admin_auth()
AUTH_RAW = [(b"authorization", AUTH["Authorization"].encode())]
HUGE = "9" * 5000  # int() refuses more than 4,300 digits with a ValueError

_NUMBERS = st.one_of(
    st.just(HUGE),
    st.just("1" + "0" * 30),
    st.just(str(2**63)),
    st.just(str(2**64 + 1)),
    st.just("0" * 6000 + "5"),
    st.integers(min_value=-(10**40), max_value=10**40).map(str),
    st.text(alphabet="0123456789-+e. ٣۳", min_size=1, max_size=30),
    st.integers(min_value=4300, max_value=20000).map(lambda n: "7" * n),
)


@pytest_asyncio.fixture(loop_scope="session")  # the app's database pools live on the session loop
async def blob_ref(client: httpx.AsyncClient, uid: str) -> tuple[str, str]:
    name = f"admin/{uid}"
    return name, await push_blob(client, name, b"0123456789")


@pytest.mark.parametrize(
    "range_header",
    [
        f"bytes={HUGE}-",
        f"bytes=0-{HUGE}",
        f"bytes=-{HUGE}",
        f"bytes={HUGE}-{HUGE}",
        "bytes=-5-",
        "bytes=٣-۳",
        "bytes=" + "0" * 6000 + "2-" + "0" * 6000 + "4",
    ],
)
async def test_blob_range_with_huge_numbers(
    client: httpx.AsyncClient, blob_ref: tuple[str, str], range_header: str
) -> None:
    name, digest = blob_ref
    for method in ("GET", "HEAD"):
        r = await client.request(
            method, f"/v2/{name}/blobs/{digest}", headers=[*AUTH_RAW, (b"range", range_header.encode())]
        )
        assert r.status_code in (200, 206, 416), (method, range_header[:40], r.status_code, r.text[:200])
        if r.status_code == 416:
            assert r.headers["content-range"] == "bytes */10"
            if method == "GET":
                assert set(error_codes(r)) <= OCI_ERROR_CODES


async def test_blob_range_saturates_like_rfc_9110(
    client: httpx.AsyncClient, blob_ref: tuple[str, str]
) -> None:
    """A last position past the end is clamped; a suffix longer than the blob is the whole blob."""
    name, digest = blob_ref
    r = await client.get(f"/v2/{name}/blobs/{digest}", headers={**AUTH, "Range": f"bytes=2-{HUGE}"})
    assert r.status_code == 206
    assert r.content == b"23456789"
    r = await client.get(f"/v2/{name}/blobs/{digest}", headers={**AUTH, "Range": f"bytes=-{HUGE}"})
    assert r.status_code == 206
    assert r.content == b"0123456789"
    r = await client.get(f"/v2/{name}/blobs/{digest}", headers={**AUTH, "Range": f"bytes={HUGE}-"})
    assert_error(r, 416, "BLOB_UPLOAD_INVALID")


@pytest.mark.parametrize(
    "content_range",
    [f"0-{HUGE}", f"{HUGE}-{HUGE}", f"bytes={HUGE}-{HUGE}/{HUGE}", f"0-4/{HUGE}", "-1-4", "0-٤"],
)
async def test_upload_content_range_with_huge_numbers(
    client: httpx.AsyncClient, uid: str, content_range: str
) -> None:
    name = f"admin/{uid}"
    r = await client.post(f"/v2/{name}/blobs/uploads/", headers=AUTH)
    location = r.headers["location"]
    r = await client.patch(
        location, content=b"12345", headers=[*AUTH_RAW, (b"content-range", content_range.encode())]
    )
    if content_range == f"0-4/{HUGE}":  # the total is not used: a well-formed chunk
        assert r.status_code == 202, r.text
    else:
        assert r.status_code in (400, 416), (content_range[:40], r.status_code, r.text[:200])
        assert set(error_codes(r)) <= OCI_ERROR_CODES
    r = await client.put(
        location,
        params={"digest": sha256(b"12345")},
        content=b"",
        headers=[*AUTH_RAW, (b"content-range", content_range.encode())],
    )
    assert r.status_code in (201, 400, 416), (content_range[:40], r.status_code, r.text[:200])
    if r.status_code != 201:
        assert set(error_codes(r)) <= OCI_ERROR_CODES


@settings(max_examples=40)
@given(first=_NUMBERS, last=_NUMBERS, total=_NUMBERS, length=_NUMBERS)
async def test_fuzz_numbers_in_range_headers_never_500(
    registry: Registry, first: str, last: str, total: str, length: str
) -> None:
    name = "admin/fuzz-numbers"
    digest = await push_blob(registry.client, name, b"fuzzed blob")
    for header in (f"bytes={first}-{last}", f"bytes=-{last}", f"bytes={first}-"):
        r = await raw_request(
            registry.app, "GET", f"/v2/{name}/blobs/{digest}", [*AUTH_RAW, (b"range", header.encode())]
        )
        assert r.status in (200, 206, 416), (header[:60], r.status, r.body[:200])
    started = await registry.client.post(f"/v2/{name}/blobs/uploads/", headers=AUTH)
    location = started.headers["location"]
    for content_range in (f"{first}-{last}", f"{first}-{last}/{total}", f"bytes {first}-{last}/*"):
        hdrs = [*AUTH_RAW, (b"content-range", content_range.encode()), (b"content-length", length.encode())]
        for method, query in (("PATCH", b""), ("PUT", f"digest={sha256(b'x')}".encode())):
            r = await raw_request(registry.app, method, location, hdrs, b"x", query)
            assert r.status < 500, (method, content_range[:60], length[:20], r.status, r.body[:200])
            if r.status >= 400:
                assert set(raw_error_codes(r)) <= OCI_ERROR_CODES


# -- nesting -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("depth", [100, 1000, 100_000])
async def test_deeply_nested_manifest_is_manifest_invalid(
    client: httpx.AsyncClient, uid: str, depth: int
) -> None:
    raw = b'{"schemaVersion":2,"mediaType":"' + OCI_MANIFEST.encode() + b'","x":'
    raw += b"[" * depth + b"]" * depth + b"}"
    r = await push_manifest(client, f"admin/{uid}", "deep", raw, OCI_MANIFEST)
    assert_error(r, 400, "MANIFEST_INVALID")
    assert "nests deeper" in r.text
    objects = b'{"schemaVersion":2,"x":' + b'{"a":' * depth + b"1" + b"}" * depth + b"}"
    r = await push_manifest(client, f"admin/{uid}", "deep", objects, OCI_MANIFEST)
    assert_error(r, 400, "MANIFEST_INVALID")
    r = await client.get(f"/v2/admin/{uid}/manifests/deep", headers=AUTH)
    assert r.status_code == 404


async def test_ordinary_nesting_is_accepted(client: httpx.AsyncClient, uid: str) -> None:
    """An index with platform features (5 levels) and a nested extension field (30 levels) pass."""
    name = f"admin/{uid}"
    image = await push_image(client, name, "one")
    index = {
        "schemaVersion": 2,
        "mediaType": OCI_INDEX,
        "manifests": [
            {
                "mediaType": OCI_MANIFEST,
                "digest": image.digest,
                "size": len(image.manifest),
                "platform": {"architecture": "amd64", "os": "linux", "os.features": ["win32k"]},
            }
        ],
        "x-extension": json.loads("[" * 30 + "]" * 30),
    }
    r = await push_manifest(client, name, "multi", index, OCI_INDEX)
    assert r.status_code == 201, r.text


# -- descriptor sizes --------------------------------------------------------------------------------


@pytest.mark.parametrize("declared", [71, 73, 999_999, 10**30, 2**63, 0])
async def test_layer_and_config_sizes_must_match_stored_blobs(
    client: httpx.AsyncClient, uid: str, declared: int
) -> None:
    name = f"admin/{uid}"
    image = await push_image(client, name, "good", layers=[b"L" * 72])
    manifest = json.loads(image.manifest)
    for part in ("layers", "config"):
        bad = json.loads(image.manifest)
        target = bad["layers"][0] if part == "layers" else bad["config"]
        target["size"] = declared
        r = await push_manifest(client, name, f"bad-{part}", bad, OCI_MANIFEST)
        assert_error(r, 400, "MANIFEST_INVALID")
        assert "declares size" in r.text, r.text
        r = await client.head(f"/v2/{name}/manifests/bad-{part}", headers=AUTH)
        assert r.status_code == 404
    assert manifest["layers"][0]["size"] == 72


async def test_index_child_sizes_must_match_stored_manifests(client: httpx.AsyncClient, uid: str) -> None:
    name = f"admin/{uid}"
    image = await push_image(client, name, "child")
    for declared in (len(image.manifest) + 1, 10**30, 2**63):
        index = {
            "schemaVersion": 2,
            "mediaType": OCI_INDEX,
            "manifests": [{"mediaType": OCI_MANIFEST, "digest": image.digest, "size": declared}],
        }
        r = await push_manifest(client, name, "idx", index, OCI_INDEX)
        assert_error(r, 400, "MANIFEST_INVALID")
    good = {
        "schemaVersion": 2,
        "mediaType": OCI_INDEX,
        "manifests": [{"mediaType": OCI_MANIFEST, "digest": image.digest, "size": len(image.manifest)}],
    }
    r = await push_manifest(client, name, "idx", good, OCI_INDEX)
    assert r.status_code == 201, r.text


# -- 405 and Allow -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path", "allow"),
    [
        ("POST", "/v2/admin/x/manifests/latest", {"GET", "HEAD", "PUT", "DELETE"}),
        ("PUT", "/v2/admin/x/blobs/" + "sha256:" + "a" * 64, {"GET", "HEAD", "DELETE"}),
        ("DELETE", "/v2/admin/x/tags/list", {"GET"}),
        ("GET", "/v2/admin/x/blobs/uploads/", {"POST"}),
        ("POST", "/v2/admin/x/blobs/uploads/abc", {"GET", "PATCH", "PUT", "DELETE"}),
        ("PUT", "/v2/_catalog", {"GET"}),
        ("DELETE", "/v2/auth", {"GET", "POST"}),
        ("HEAD", "/v2/admin/x/referrers/" + "sha256:" + "a" * 64, {"GET"}),
    ],
)
async def test_v2_405_carries_allow(
    client: httpx.AsyncClient, method: str, path: str, allow: set[str]
) -> None:
    r = await client.request(method, path, headers=AUTH)
    assert r.status_code == 405, r.text
    assert {m.strip() for m in r.headers["allow"].split(",")} == allow
    if method != "HEAD":
        assert error_codes(r) == ["UNSUPPORTED"]


@pytest.mark.parametrize(
    ("method", "path", "allow"),
    [
        ("PATCH", "/api/v1/user/", {"GET", "PUT"}),
        ("PUT", "/signin", {"GET", "HEAD", "POST"}),
        ("DELETE", "/", {"GET", "HEAD"}),
    ],
)
async def test_api_and_ui_405_carry_allow(
    client: httpx.AsyncClient, method: str, path: str, allow: set[str]
) -> None:
    r = await client.request(method, path)
    assert r.status_code == 405, r.text
    assert {m.strip() for m in r.headers["allow"].split(",")} == allow


async def test_api_405_lists_the_methods_of_every_route_on_the_path(registry: Registry) -> None:
    """FastAPI declares one route per method: Allow must be their union, not the first route's."""
    api = registry.client
    r = await api.request("PATCH", "/api/v1/organization/some-org", headers=AUTH)
    assert r.status_code == 405, r.text
    methods = {m.strip() for m in r.headers["allow"].split(",")}
    assert {"GET", "PUT", "DELETE"} <= methods, methods
