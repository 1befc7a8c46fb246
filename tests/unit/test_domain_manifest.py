"""moorage.domain.manifest: parsing and structural validation."""

from __future__ import annotations

import contextlib
import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from moorage.domain import mediatypes as mt
from moorage.domain.digest import Digest, sha256_of
from moorage.domain.errors import ManifestInvalid
from moorage.domain.manifest import detect_media_type, parse_manifest

D1 = str(sha256_of(b"config"))
D2 = str(sha256_of(b"layer"))
D3 = str(sha256_of(b"subject"))


def desc(media_type: str, digest: str = D1, size: int = 10, **extra: Any) -> dict[str, Any]:
    return {"mediaType": media_type, "digest": digest, "size": size, **extra}


def oci_manifest(**extra: Any) -> dict[str, Any]:
    return {
        "schemaVersion": 2,
        "mediaType": mt.OCI_MANIFEST,
        "config": desc(mt.OCI_CONFIG),
        "layers": [desc("application/vnd.oci.image.layer.v1.tar+gzip", D2, 5)],
        **extra,
    }


def raw(obj: Any) -> bytes:
    return json.dumps(obj).encode()


def test_oci_image_manifest() -> None:
    p = parse_manifest(raw(oci_manifest()), mt.OCI_MANIFEST)
    assert p.media_type == mt.OCI_MANIFEST
    assert not p.is_index
    assert p.config is not None
    assert p.config.digest == Digest.parse(D1)
    assert [str(d.digest) for d in p.blob_references] == [D1, D2]
    assert p.effective_artifact_type == mt.OCI_CONFIG
    assert p.subject is None


def test_oci_index() -> None:
    body = {
        "schemaVersion": 2,
        "mediaType": mt.OCI_INDEX,
        "manifests": [desc(mt.OCI_MANIFEST, D1, platform={"os": "linux", "architecture": "amd64"})],
    }
    p = parse_manifest(raw(body), mt.OCI_INDEX)
    assert p.is_index
    assert p.config is None
    assert p.blob_references == ()
    assert [str(m.digest) for m in p.manifests] == [D1]
    assert p.manifests[0].platform == {"os": "linux", "architecture": "amd64"}
    assert p.effective_artifact_type is None


def test_docker_schema2_and_list() -> None:
    m = oci_manifest(mediaType=mt.DOCKER_MANIFEST)
    assert parse_manifest(raw(m), mt.DOCKER_MANIFEST).media_type == mt.DOCKER_MANIFEST
    lst = {"schemaVersion": 2, "mediaType": mt.DOCKER_MANIFEST_LIST, "manifests": [desc(mt.DOCKER_MANIFEST)]}
    assert parse_manifest(raw(lst), None).is_index


def test_artifact_type_and_subject() -> None:
    m = oci_manifest(
        artifactType="application/vnd.example",
        config=desc(mt.OCI_EMPTY, str(sha256_of(b"{}")), 2),
        subject=desc(mt.OCI_MANIFEST, D3, 100),
        annotations={"a": "b"},
    )
    p = parse_manifest(raw(m), mt.OCI_MANIFEST)
    assert p.effective_artifact_type == "application/vnd.example"
    assert p.subject is not None
    assert str(p.subject.digest) == D3
    assert p.annotations == {"a": "b"}


def test_index_artifact_type() -> None:
    body = {"schemaVersion": 2, "mediaType": mt.OCI_INDEX, "artifactType": "x/y", "manifests": []}
    assert parse_manifest(raw(body), None).effective_artifact_type == "x/y"


def test_foreign_layers_are_not_blob_references() -> None:
    m = oci_manifest(
        mediaType=mt.DOCKER_MANIFEST,
        layers=[
            desc("application/vnd.docker.image.rootfs.foreign.diff.tar.gzip", D2),
            desc("application/vnd.oci.image.layer.nondistributable.v1.tar+gzip", D3),
        ],
    )
    p = parse_manifest(raw(m), mt.DOCKER_MANIFEST)
    assert [str(d.digest) for d in p.blob_references] == [D1]


@pytest.mark.parametrize(
    ("content_type", "body", "expected"),
    [
        (mt.OCI_MANIFEST, {}, mt.OCI_MANIFEST),
        ("application/vnd.oci.image.manifest.v1+json; charset=utf-8", {}, mt.OCI_MANIFEST),
        (None, {"mediaType": mt.DOCKER_MANIFEST}, mt.DOCKER_MANIFEST),
        (None, {"manifests": []}, mt.OCI_INDEX),
        (None, {"config": {}}, mt.OCI_MANIFEST),
        ("application/json", {"config": {}}, mt.OCI_MANIFEST),
    ],
)
def test_detect_media_type(content_type: str | None, body: dict[str, Any], expected: str) -> None:
    assert detect_media_type(content_type, body) == expected


@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        (mt.OCI_INDEX, {"mediaType": mt.OCI_MANIFEST}),
        (None, {"mediaType": 1}),
        (None, {}),
        ("text/plain", {}),
        (mt.DOCKER_SCHEMA1, {}),
        (None, {"mediaType": mt.DOCKER_SCHEMA1_SIGNED}),
    ],
)
def test_detect_media_type_rejects(content_type: str | None, body: dict[str, Any]) -> None:
    with pytest.raises(ManifestInvalid):
        detect_media_type(content_type, body)


INVALID: list[Any] = [
    b"",
    b"not json",
    b"\xff\xfe",
    b"[]",
    b"null",
    b"2",
    {"schemaVersion": 1},
    {"schemaVersion": "2", "config": desc(mt.OCI_CONFIG)},
    {"schemaVersion": True, "config": desc(mt.OCI_CONFIG)},
    {"schemaVersion": 2, "mediaType": mt.OCI_MANIFEST},
    {"schemaVersion": 2, "mediaType": mt.OCI_MANIFEST, "config": "x"},
    {"schemaVersion": 2, "mediaType": mt.OCI_MANIFEST, "config": desc(mt.OCI_CONFIG), "layers": {}},
    {"schemaVersion": 2, "mediaType": mt.OCI_MANIFEST, "config": desc(mt.OCI_CONFIG), "layers": ["x"]},
    {"schemaVersion": 2, "mediaType": mt.OCI_MANIFEST, "config": desc(mt.OCI_CONFIG, "sha256:abc")},
    {"schemaVersion": 2, "mediaType": mt.OCI_MANIFEST, "config": desc(mt.OCI_CONFIG, size=-1)},
    {"schemaVersion": 2, "mediaType": mt.OCI_MANIFEST, "config": desc(mt.OCI_CONFIG, size=True)},
    {"schemaVersion": 2, "mediaType": mt.OCI_MANIFEST, "config": {**desc(mt.OCI_CONFIG), "size": "1"}},
    {"schemaVersion": 2, "mediaType": mt.OCI_MANIFEST, "config": desc("")},
    {"schemaVersion": 2, "mediaType": mt.OCI_MANIFEST, "config": {"digest": D1, "size": 1}},
    {"schemaVersion": 2, "mediaType": mt.OCI_MANIFEST, "config": desc(mt.OCI_CONFIG), "artifactType": 1},
    {
        "schemaVersion": 2,
        "mediaType": mt.OCI_MANIFEST,
        "config": desc(mt.OCI_CONFIG),
        "annotations": {"a": 1},
    },
    {"schemaVersion": 2, "mediaType": mt.OCI_MANIFEST, "config": desc(mt.OCI_CONFIG), "subject": "x"},
    {"schemaVersion": 2, "mediaType": mt.OCI_MANIFEST, "config": desc(mt.OCI_CONFIG, platform="linux")},
    {
        "schemaVersion": 2,
        "mediaType": mt.DOCKER_MANIFEST,
        "config": desc(mt.OCI_CONFIG),
        "artifactType": "a/b",
    },
    {"schemaVersion": 2, "mediaType": mt.OCI_INDEX},
    {"schemaVersion": 2, "mediaType": mt.OCI_INDEX, "manifests": [1]},
    {"schemaVersion": 2, "mediaType": "application/vnd.unknown+json", "config": desc(mt.OCI_CONFIG)},
]


@pytest.mark.parametrize("body", INVALID)
def test_invalid_manifests(body: Any) -> None:
    data = body if isinstance(body, bytes) else raw(body)
    with pytest.raises(ManifestInvalid):
        parse_manifest(data, None)


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=10),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=20,
)
_MANIFESTISH = st.fixed_dictionaries(
    {},
    optional={
        "schemaVersion": st.sampled_from([2, 1, "2", None]),
        "mediaType": st.sampled_from([mt.OCI_MANIFEST, mt.OCI_INDEX, mt.DOCKER_MANIFEST, "x", 3]),
        "config": _JSON | st.just(desc(mt.OCI_CONFIG)),
        "layers": _JSON | st.lists(st.just(desc("a/b", D2)), max_size=2),
        "manifests": _JSON,
        "subject": _JSON,
        "artifactType": _JSON,
        "annotations": _JSON,
    },
)


@given(_MANIFESTISH, st.sampled_from([None, mt.OCI_MANIFEST, mt.OCI_INDEX, "text/plain", ""]))
def test_arbitrary_json_raises_only_manifest_invalid(body: dict[str, Any], content_type: str | None) -> None:
    with contextlib.suppress(ManifestInvalid):
        parse_manifest(raw(body), content_type)


@given(st.binary(max_size=200))
def test_arbitrary_bytes_raise_only_manifest_invalid(data: bytes) -> None:
    with contextlib.suppress(ManifestInvalid):
        parse_manifest(data, mt.OCI_MANIFEST)
