"""Deterministic OCI images, indexes and artifacts written as OCI image layouts (pure Python).

The same inputs always give the same bytes (tar mtime 0, uid/gid 0, sorted entries, gzip mtime 0),
so tests can compare digests computed here with what a registry serves.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import io
import json
import tarfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

OCI_LAYOUT_VERSION = "1.0.0"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER_GZIP = "application/vnd.oci.image.layer.v1.tar+gzip"
OCI_EMPTY = "application/vnd.oci.empty.v1+json"
REF_NAME = "org.opencontainers.image.ref.name"
EPOCH = "1970-01-01T00:00:00Z"

JSON = dict[str, Any]


def sha256_digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def canonical_json(obj: object) -> bytes:
    return json.dumps(obj, separators=(",", ":"), sort_keys=True).encode()


def tar_layer(files: Mapping[str, bytes]) -> bytes:
    """An uncompressed tar of ``files`` (path -> content) with parent directories, deterministic."""
    entries: dict[str, bytes | None] = {}
    for raw_path, data in files.items():
        path = raw_path.strip("/")
        parts = path.split("/")
        for i in range(1, len(parts)):
            entries.setdefault("/".join(parts[:i]), None)
        entries[path] = data
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for path in sorted(entries):
            content = entries[path]
            info = tarfile.TarInfo(path)
            info.mtime, info.uid, info.gid, info.uname, info.gname = 0, 0, 0, "root", "root"
            if content is None:
                info.type, info.mode = tarfile.DIRTYPE, 0o755
                tar.addfile(info)
            else:
                info.mode, info.size = 0o644, len(content)
                tar.addfile(info, io.BytesIO(content))
    return buf.getvalue()


def gzip_bytes(data: bytes) -> bytes:
    """gzip with mtime 0 and no file name, so equal input gives equal output."""
    out = io.BytesIO()
    with gzip.GzipFile(fileobj=out, mode="wb", mtime=0, compresslevel=6, filename="") as gz:
        gz.write(data)
    return out.getvalue()


def layer_files(blob: bytes) -> dict[str, bytes]:
    """Regular files in a (possibly gzip-compressed) layer tar: path without leading ./ or / -> content."""
    raw = gzip.decompress(blob) if blob[:2] == b"\x1f\x8b" else blob
    files: dict[str, bytes] = {}
    with tarfile.open(fileobj=io.BytesIO(raw), mode="r:") as tar:
        for member in tar.getmembers():
            if member.isfile():
                extracted = tar.extractfile(member)
                assert extracted is not None
                name = member.name.removeprefix("./").lstrip("/")
                files[name] = extracted.read()
    return files


@dataclass(frozen=True)
class Platform:
    os: str
    architecture: str
    variant: str | None = None

    def to_json(self) -> JSON:
        out: JSON = {"architecture": self.architecture, "os": self.os}
        if self.variant:
            out["variant"] = self.variant
        return out

    def __str__(self) -> str:
        return "/".join(p for p in (self.os, self.architecture, self.variant) if p)


AMD64 = Platform("linux", "amd64")
ARM64 = Platform("linux", "arm64", "v8")


@dataclass(frozen=True)
class Descriptor:
    media_type: str
    digest: str
    size: int
    platform: Platform | None = None
    artifact_type: str | None = None
    annotations: Mapping[str, str] = field(default_factory=dict)
    data: bytes | None = None

    def to_json(self) -> JSON:
        out: JSON = {"mediaType": self.media_type, "digest": self.digest, "size": self.size}
        if self.artifact_type:
            out["artifactType"] = self.artifact_type
        if self.platform:
            out["platform"] = self.platform.to_json()
        if self.annotations:
            out["annotations"] = dict(self.annotations)
        if self.data is not None:
            out["data"] = base64.b64encode(self.data).decode()
        return out

    def with_platform(self, platform: Platform) -> Descriptor:
        return Descriptor(
            self.media_type, self.digest, self.size, platform, self.artifact_type, self.annotations
        )


@dataclass(frozen=True)
class Image:
    """A single-platform image written to a layout."""

    manifest: Descriptor
    config: Descriptor
    layers: tuple[Descriptor, ...]
    files: Mapping[str, bytes]


class OciLayout:
    """An OCI image layout directory: ``oci-layout``, ``index.json`` and ``blobs/sha256``."""

    def __init__(self, path: Path) -> None:
        self.path = path
        (path / "blobs" / "sha256").mkdir(parents=True, exist_ok=True)
        (path / "oci-layout").write_text(json.dumps({"imageLayoutVersion": OCI_LAYOUT_VERSION}))
        index_path = path / "index.json"
        self._refs: dict[str, JSON] = {}
        if index_path.exists():
            for entry in json.loads(index_path.read_text())["manifests"]:
                self._refs[entry.get("annotations", {}).get(REF_NAME, entry["digest"])] = entry
        self._save()

    # ---------------------------------------------------------------- blobs and refs
    def blob_path(self, digest: str) -> Path:
        algorithm, hex_digest = digest.split(":", 1)
        return self.path / "blobs" / algorithm / hex_digest

    def put_blob(self, data: bytes, media_type: str) -> Descriptor:
        digest = sha256_digest(data)
        target = self.blob_path(digest)
        if not target.exists():
            tmp = target.with_suffix(".tmp")
            tmp.write_bytes(data)
            tmp.replace(target)
        return Descriptor(media_type, digest, len(data))

    def blob(self, digest: str) -> bytes:
        return self.blob_path(digest).read_bytes()

    def manifest_json(self, digest: str) -> JSON:
        loaded: JSON = json.loads(self.blob(digest))
        return loaded

    def tag(self, ref: str, desc: Descriptor) -> None:
        entry = Descriptor(
            desc.media_type, desc.digest, desc.size, artifact_type=desc.artifact_type
        ).to_json()
        entry["annotations"] = {REF_NAME: ref}
        self._refs[ref] = entry
        self._save()

    def resolve(self, ref: str) -> Descriptor:
        entry = self._refs[ref]
        return Descriptor(entry["mediaType"], entry["digest"], entry["size"])

    @property
    def refs(self) -> list[str]:
        return sorted(self._refs)

    def _save(self) -> None:
        index = {
            "schemaVersion": 2,
            "mediaType": OCI_INDEX,
            "manifests": [self._refs[r] for r in sorted(self._refs)],
        }
        (self.path / "index.json").write_text(json.dumps(index, indent=2))

    # ---------------------------------------------------------------- builders
    def add_image(
        self,
        files: Mapping[str, bytes],
        *,
        ref: str | None = None,
        platform: Platform = AMD64,
        cmd: Sequence[str] = ("/hello",),
        labels: Mapping[str, str] | None = None,
        extra_layers: Sequence[Mapping[str, bytes]] = (),
    ) -> Image:
        """An image with one layer per mapping (``files`` first); tagged ``ref`` when given."""
        raw_layers = [tar_layer(files), *(tar_layer(extra) for extra in extra_layers)]
        layers = tuple(self.put_blob(gzip_bytes(raw), OCI_LAYER_GZIP) for raw in raw_layers)
        config: JSON = {
            "created": EPOCH,
            "architecture": platform.architecture,
            "os": platform.os,
            "config": {"Cmd": list(cmd), "Labels": dict(labels or {})},
            "rootfs": {"type": "layers", "diff_ids": [sha256_digest(raw) for raw in raw_layers]},
            "history": [
                {"created": EPOCH, "created_by": f"moorage-tests layer {i}"} for i in range(len(layers))
            ],
        }
        if platform.variant:
            config["variant"] = platform.variant
        config_desc = self.put_blob(canonical_json(config), OCI_CONFIG)
        manifest: JSON = {
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "config": config_desc.to_json(),
            "layers": [layer.to_json() for layer in layers],
        }
        manifest_desc = self.put_blob(canonical_json(manifest), OCI_MANIFEST)
        if ref:
            self.tag(ref, manifest_desc)
        merged: dict[str, bytes] = {}
        for mapping in (files, *extra_layers):
            merged.update({k.strip("/"): v for k, v in mapping.items()})
        return Image(manifest_desc, config_desc, layers, merged)

    def add_index(self, images: Sequence[Image], *, ref: str | None = None) -> Descriptor:
        """A multi-platform image index over already written images (each must know its platform)."""
        manifests = []
        for image in images:
            platform = self._platform_of(image)
            manifests.append(image.manifest.with_platform(platform).to_json())
        index: JSON = {"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": manifests}
        desc = self.put_blob(canonical_json(index), OCI_INDEX)
        if ref:
            self.tag(ref, desc)
        return desc

    def add_multiarch(
        self, ref: str, platforms: Sequence[Platform] = (AMD64, ARM64)
    ) -> tuple[Descriptor, list[Image]]:
        """One small image per platform (distinct content, tagged ``REF-ARCH``) and an index over them."""
        images = [
            self.add_image(
                {"/etc/platform": f"{p}\n".encode()},
                platform=p,
                labels={"platform": str(p)},
                ref=f"{ref}-{p.architecture}",
            )
            for p in platforms
        ]
        return self.add_index(images, ref=ref), images

    def add_artifact(
        self,
        *,
        artifact_type: str,
        files: Mapping[str, tuple[str, bytes]],
        subject: Descriptor | None = None,
        ref: str | None = None,
        annotations: Mapping[str, str] | None = None,
    ) -> Descriptor:
        """An OCI 1.1 artifact manifest: empty config, ``artifactType``, optional ``subject``.

        ``files`` maps a title to (media type, content); each becomes one layer.
        """
        empty = self.put_blob(b"{}", OCI_EMPTY)
        empty = Descriptor(empty.media_type, empty.digest, empty.size, data=b"{}")
        layers = []
        for title, (media_type, content) in sorted(files.items()):
            blob = self.put_blob(content, media_type)
            layers.append(
                Descriptor(
                    blob.media_type,
                    blob.digest,
                    blob.size,
                    annotations={"org.opencontainers.image.title": title},
                )
            )
        manifest = build_artifact_manifest(
            artifact_type=artifact_type, config=empty, layers=layers, subject=subject, annotations=annotations
        )
        desc = self.put_blob(canonical_json(manifest), OCI_MANIFEST)
        desc = Descriptor(desc.media_type, desc.digest, desc.size, artifact_type=artifact_type)
        if ref:
            self.tag(ref, desc)
        return desc

    def _platform_of(self, image: Image) -> Platform:
        config = json.loads(self.blob(image.config.digest))
        return Platform(config["os"], config["architecture"], config.get("variant"))


def build_artifact_manifest(
    *,
    artifact_type: str,
    config: Descriptor,
    layers: Sequence[Descriptor],
    subject: Descriptor | None = None,
    annotations: Mapping[str, str] | None = None,
) -> JSON:
    """The JSON of an OCI 1.1 image manifest used as an artifact."""
    manifest: JSON = {
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "artifactType": artifact_type,
        "config": config.to_json(),
        "layers": [layer.to_json() for layer in layers],
    }
    if subject is not None:
        manifest["subject"] = Descriptor(subject.media_type, subject.digest, subject.size).to_json()
    if annotations:
        manifest["annotations"] = dict(annotations)
    return manifest


@dataclass(frozen=True)
class ImageSet:
    """The suite's test images: ``hello``, ``second`` (two layers), ``multi`` (amd64 + arm64 index)."""

    layout: OciLayout
    hello: Image
    second: Image
    multi: Descriptor
    multi_images: tuple[Image, ...]

    def ref(self, name: str) -> str:
        """A skopeo/podman source reference to one of the layout's refs."""
        return f"oci:{self.layout.path}:{name}"


def build_image_set(path: Path) -> ImageSet:
    layout = OciLayout(path)
    hello = layout.add_image(
        {"/hello.txt": b"hello from moorage e2e\n"}, ref="hello", labels={"e2e": "hello"}
    )
    second = layout.add_image(
        {"/etc/motd": b"second image\n"},
        ref="second",
        extra_layers=[{"/data/blob.bin": bytes(range(256)) * 64}],
        labels={"e2e": "second"},
    )
    multi, multi_images = layout.add_multiarch("multi", [AMD64, ARM64])
    return ImageSet(layout, hello, second, multi, tuple(multi_images))
