"""Malformed requests get an OCI error JSON with a 4xx status — never a 500 — and a fuzz test of the same."""

from __future__ import annotations

import base64
import json
from urllib.parse import quote_from_bytes

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tests.protocol.conftest import Registry
from tests.protocol.helpers import (
    OCI_ERROR_CODES,
    admin_auth,
    assert_error,
    error_codes,
    push_blob,
    push_image,
    raw_error_codes,
    raw_request,
    sha256,
)

AUTH = admin_auth()
AUTH_RAW = [(b"authorization", AUTH["Authorization"].encode())]
GOOD = "sha256:" + "a" * 64


@pytest.mark.parametrize(
    "name",
    [
        "Admin/UPPER",
        "admin/Upper",
        "admin/-lead",
        "admin/trail-",
        "admin/a..b",
        "admin/a___b",
        "admin/a b",
        "admin/a%20b",
        "admin/newline%0A",
        "admin/x%0A/y",
        "admin/" + "a" * 300,
        "admin/a:b",
        "admin/é",
    ],
)
async def test_malformed_names(client: httpx.AsyncClient, name: str) -> None:
    for method, path in (
        ("GET", f"/v2/{name}/manifests/latest"),
        ("HEAD", f"/v2/{name}/manifests/latest"),
        ("PUT", f"/v2/{name}/manifests/latest"),
        ("GET", f"/v2/{name}/blobs/{GOOD}"),
        ("POST", f"/v2/{name}/blobs/uploads/"),
        ("GET", f"/v2/{name}/tags/list"),
        ("GET", f"/v2/{name}/referrers/{GOOD}"),
    ):
        r = await client.request(method, path, headers=AUTH, content=b"{}" if method == "PUT" else None)
        assert 400 <= r.status_code < 500, (method, path, r.status_code)
        if method != "HEAD":
            assert "NAME_INVALID" in error_codes(r), (method, path, r.text)


@pytest.mark.parametrize(
    "path",
    [
        "/v2/admin/../admin/x/manifests/latest",
        "/v2/admin/./x/manifests/latest",
        "/v2/admin/x//manifests/latest",
        "/v2/admin/x/ /manifests/latest",
        "/v2//admin/x/manifests/latest",
        "/v2/admin/x/../../etc/passwd/blobs/" + GOOD,
        "/v2/admin/x/%2e%2e/y/tags/list",
        "/v2/admin/x/blobs/uploads/..",
        "/v2/admin/x/blobs/uploads/%2e%2e",
        "/v2/admin/x/blobs/uploads/..%2f..%2fkeys",
        "/v2/admin/x/",
        "/v2/admin/x/tags/list/",
        "/v2/admin/x/manifests/",
        "/v2/admin/x/blobs/",
    ],
)
async def test_path_tricks_are_rejected_cleanly(registry: Registry, path: str) -> None:
    """Exact paths, as a server receives them (no client-side dot-segment normalisation)."""
    for method in ("GET", "HEAD", "PUT", "PATCH", "DELETE", "POST"):
        r = await raw_request(registry.app, method, path, AUTH_RAW)
        assert 400 <= r.status < 500, (method, path, r.status, r.body)
        if method != "HEAD":
            assert raw_error_codes(r), (method, path)


@pytest.mark.parametrize(
    "digest",
    [
        "sha256:abc",
        "sha256:" + "g" * 64,
        "sha256:" + "A" * 64,
        "md5:" + "a" * 32,
        "sha256:",
        ":" + "a" * 64,
        "sha512:" + "a" * 64,
        "sha256:" + "a" * 65,
    ],
)
async def test_malformed_digests(client: httpx.AsyncClient, uid: str, digest: str) -> None:
    name = f"admin/{uid}"
    await push_image(client, name, "v1")
    for method, path, params in (
        ("GET", f"/v2/{name}/blobs/{digest}", None),
        ("DELETE", f"/v2/{name}/blobs/{digest}", None),
        ("GET", f"/v2/{name}/manifests/{digest}", None),
        ("DELETE", f"/v2/{name}/manifests/{digest}", None),
        ("PUT", f"/v2/{name}/manifests/{digest}", None),
        ("GET", f"/v2/{name}/referrers/{digest}", None),
        ("POST", f"/v2/{name}/blobs/uploads/", {"digest": digest}),
        ("POST", f"/v2/{name}/blobs/uploads/", {"mount": digest, "from": name}),
    ):
        r = await client.request(method, path, params=params, headers=AUTH, content=b"{}")
        assert 400 <= r.status_code < 500, (method, path, params, r.status_code)
        codes = error_codes(r)
        assert set(codes) & {"DIGEST_INVALID", "MANIFEST_UNKNOWN", "BLOB_UNKNOWN", "UNSUPPORTED"}, (
            path,
            codes,
        )


async def test_finish_upload_with_malformed_digest(client: httpx.AsyncClient, uid: str) -> None:
    name = f"admin/{uid}"
    r = await client.post(f"/v2/{name}/blobs/uploads/", headers=AUTH)
    location = r.headers["location"]
    for digest in ("sha256:abc", "nonsense", "sha256:" + "Z" * 64):
        r = await client.put(location, params={"digest": digest}, content=b"x", headers=AUTH)
        assert_error(r, 400, "DIGEST_INVALID")


@pytest.mark.parametrize("tag", ["-dash", ".dot", "a" * 129, "tag with space", "tag!", "ümlaut", "latest%0A"])
async def test_malformed_tags(client: httpx.AsyncClient, uid: str, tag: str) -> None:
    name = f"admin/{uid}"
    image = await push_image(client, name, "v1")
    r = await client.get(f"/v2/{name}/manifests/{tag}", headers=AUTH)
    assert 400 <= r.status_code < 500
    assert set(error_codes(r)) & {"TAG_INVALID", "MANIFEST_UNKNOWN"}
    r = await client.put(
        f"/v2/{name}/manifests/{tag}",
        content=image.manifest,
        headers={**AUTH, "Content-Type": image.media_type},
    )
    assert_error(r, 400, "TAG_INVALID")
    r = await client.delete(f"/v2/{name}/manifests/{tag}", headers=AUTH)
    assert 400 <= r.status_code < 500
    error_codes(r)


@pytest.mark.parametrize("content_range", ["bytes", "abc", "5-", "-5", "10-5", "0-4/", "1-2-3", "bytes=a-b"])
async def test_malformed_content_range(client: httpx.AsyncClient, uid: str, content_range: str) -> None:
    name = f"admin/{uid}"
    r = await client.post(f"/v2/{name}/blobs/uploads/", headers=AUTH)
    location = r.headers["location"]
    r = await client.patch(location, content=b"12345", headers={**AUTH, "Content-Range": content_range})
    assert 400 <= r.status_code < 500, (content_range, r.status_code)
    error_codes(r)
    r = await client.put(
        location,
        params={"digest": sha256(b"12345")},
        content=b"12345",
        headers={**AUTH, "Content-Range": content_range},
    )
    assert 400 <= r.status_code < 500, (content_range, r.status_code)
    error_codes(r)


@pytest.mark.parametrize("content_range", ["0-9", "0-999999999999999999999999"])
async def test_content_range_length_mismatch(client: httpx.AsyncClient, uid: str, content_range: str) -> None:
    name = f"admin/{uid}"
    r = await client.post(f"/v2/{name}/blobs/uploads/", headers=AUTH)
    r = await client.patch(
        r.headers["location"], content=b"12345", headers={**AUTH, "Content-Range": content_range}
    )
    assert 400 <= r.status_code < 500
    error_codes(r)


@pytest.mark.parametrize("path", ["/v2/", "/v2/admin/x/tags/list"])
async def test_raw_non_utf8_query_string_is_not_500(registry: Registry, path: str) -> None:
    """HTTP servers (uvicorn/httptools, granian) pass the query bytes through undecoded."""
    r = await raw_request(registry.app, "GET", path, AUTH_RAW, b"", b"n=\xff\x80&last=\xc3")
    assert r.status < 500, (r.status, r.body)


@pytest.mark.parametrize("range_header", ["bytes=abc", "items=0-1", "bytes=0-1,3-4", "bytes=--1", "0-10"])
async def test_malformed_blob_range(client: httpx.AsyncClient, uid: str, range_header: str) -> None:
    name = f"admin/{uid}"
    digest = await push_blob(client, name, b"0123456789")
    r = await client.get(f"/v2/{name}/blobs/{digest}", headers={**AUTH, "Range": range_header})
    # ignoring the Range (200 with everything) is allowed by RFC 9110; an error must be 4xx OCI JSON
    if r.status_code == 200:
        assert r.content == b"0123456789"
    else:
        assert 400 <= r.status_code < 500, r.status_code
        error_codes(r)


@pytest.mark.parametrize("length", ["abc", "-5", "1e3"])
async def test_malformed_content_length(registry: Registry, uid: str, length: str) -> None:
    name = f"admin/{uid}"
    r = await registry.client.post(f"/v2/{name}/blobs/uploads/", headers=AUTH)
    location = r.headers["location"]
    hdrs = [*AUTH_RAW, (b"content-length", length.encode())]
    for method, path, query in (
        ("PATCH", location, b""),
        ("PUT", location, f"digest={sha256(b'x')}".encode()),
        ("PUT", f"/v2/{name}/manifests/latest", b""),
    ):
        resp = await raw_request(registry.app, method, path, hdrs, b"x", query)
        assert 400 <= resp.status < 500, (method, path, resp.status, resp.body)
        raw_error_codes(resp)


async def test_unsupported_methods(client: httpx.AsyncClient, uid: str) -> None:
    name = f"admin/{uid}"
    for method, path in (
        ("POST", f"/v2/{name}/manifests/latest"),
        ("PATCH", f"/v2/{name}/manifests/latest"),
        ("PUT", f"/v2/{name}/blobs/{GOOD}"),
        ("POST", f"/v2/{name}/tags/list"),
        ("DELETE", f"/v2/{name}/tags/list"),
        ("PUT", "/v2/_catalog"),
        ("GET", f"/v2/{name}/blobs/uploads/"),
    ):
        r = await client.request(method, path, headers=AUTH)
        assert r.status_code in (404, 405), (method, path, r.status_code)
        error_codes(r)


async def test_unknown_v2_endpoint(client: httpx.AsyncClient) -> None:
    r = await client.get("/v2/admin/x/nonsense", headers=AUTH)
    assert r.status_code == 404
    error_codes(r)


# -- fuzzing --------------------------------------------------------------------------------------------

_SEGMENTS = st.one_of(
    st.sampled_from(
        [
            "admin",
            "alice",
            "x",
            "manifests",
            "blobs",
            "uploads",
            "tags",
            "list",
            "referrers",
            "_catalog",
            "auth",
            "latest",
            GOOD,
            "sha256:",
            "..",
            ".",
            "",
            "%2e",
            "%2F",
            "%00",
            "%ff",
            "A",
            "a-b",
            "a__b",
            "a--b",
        ]
    ),
    st.text(alphabet=st.characters(codec="utf-8", exclude_characters="/?#"), max_size=12),
)
_PATHS = st.lists(_SEGMENTS, min_size=0, max_size=7).map(lambda segs: "/v2/" + "/".join(segs))
_METHODS = st.sampled_from(["GET", "HEAD", "PUT", "POST", "PATCH", "DELETE", "OPTIONS"])


def _b64(s: bytes) -> str:
    return base64.b64encode(s).decode()


_AUTH_VALUES = st.one_of(
    st.just(AUTH["Authorization"]),
    st.just("Basic " + _b64(b"alice:alice-password-1")),
    st.just("Basic " + _b64(b"alice:wrong")),
    st.builds(lambda b: "Basic " + _b64(b), st.binary(max_size=40)),
    st.builds(
        lambda s: "Bearer " + s, st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789.-_=", max_size=60)
    ),
    st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), max_size=40),
)
_HEADER_VALUES = st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=255), max_size=40)
_HEADERS = st.fixed_dictionaries(
    {},
    optional={
        b"authorization": _AUTH_VALUES,
        b"range": st.one_of(st.from_regex(r"\Abytes=[0-9]{0,4}-[0-9]{0,4}\Z"), _HEADER_VALUES),
        b"content-range": st.one_of(st.from_regex(r"\A[0-9]{1,4}-[0-9]{1,4}\Z"), _HEADER_VALUES),
        b"content-type": st.one_of(
            st.sampled_from(
                [
                    "application/vnd.oci.image.manifest.v1+json",
                    "application/vnd.oci.image.index.v1+json",
                    "application/octet-stream",
                    "application/x-www-form-urlencoded",
                    "multipart/form-data",
                ]
            ),
            _HEADER_VALUES,
        ),
        b"accept": _HEADER_VALUES,
    },
)
_QUERIES = st.one_of(
    st.just(b""),
    st.sampled_from(
        [
            b"n=2",
            b"n=-1",
            b"n=abc",
            b"last=%ff",
            b"digest=sha256:abc",
            b"mount=x&from=y",
            b"digest=" + GOOD.encode(),
            b"artifactType=x",
            b"scope=repository:x:pull",
            b"n=99999999999999999999",
        ]
    ),
    st.binary(max_size=30).map(lambda b: quote_from_bytes(b, safe="=&").encode("ascii")),
)
_BODIES = st.one_of(
    st.just(b""), st.binary(max_size=64), st.sampled_from([b"{}", b'{"schemaVersion":2}', b"[]"])
)


@settings(max_examples=250)
@given(method=_METHODS, path=_PATHS, headers=_HEADERS, query=_QUERIES, body=_BODIES)
async def test_fuzz_never_500(
    registry: Registry, method: str, path: str, headers: dict[bytes, str], query: bytes, body: bytes
) -> None:
    raw_headers = [(k, v.encode("latin-1")) for k, v in headers.items()]
    r = await raw_request(registry.app, method, path, raw_headers, body, query)
    assert r.status < 500, (method, path, headers, query, body, r.status, r.body[:300])
    if 400 <= r.status < 500 and method != "HEAD":
        payload = json.loads(r.body)
        codes = [e["code"] for e in payload["errors"]]
        assert codes, payload
        assert set(codes) <= OCI_ERROR_CODES, codes
