"""Parsing and validation of manifests: OCI image manifest and index, Docker schema2 and manifest list.

Only structure is checked here; whether referenced blobs exist is the registry layer's job.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from moorage.domain import mediatypes as mt
from moorage.domain.digest import Digest
from moorage.domain.errors import ManifestInvalid

# Real manifests nest 5 levels (index > manifests > descriptor > platform > features); the limit
# leaves room for extensions and keeps a hostile document far below the interpreter's recursion limit.
MAX_NESTING = 64


@dataclass(frozen=True, slots=True)
class Descriptor:
    media_type: str
    digest: Digest
    size: int
    artifact_type: str | None = None
    platform: dict[str, Any] | None = None


@dataclass(frozen=True, slots=True)
class ParsedManifest:
    media_type: str
    config: Descriptor | None
    layers: tuple[Descriptor, ...] = ()
    manifests: tuple[Descriptor, ...] = ()
    subject: Descriptor | None = None
    artifact_type: str | None = None
    annotations: dict[str, str] = field(default_factory=dict)

    @property
    def is_index(self) -> bool:
        return self.media_type in mt.INDEXES

    @property
    def blob_references(self) -> tuple[Descriptor, ...]:
        """Blobs this manifest needs to exist: its config and layers (not foreign/non-distributable ones)."""
        refs = [] if self.config is None else [self.config]
        refs.extend(layer for layer in self.layers if not _is_foreign(layer))
        return tuple(refs)

    @property
    def effective_artifact_type(self) -> str | None:
        """The artifact type reported by the referrers API: artifactType, else the config media type."""
        if self.artifact_type:
            return self.artifact_type
        if self.config is not None and not self.is_index:
            return self.config.media_type
        return None


def _is_foreign(desc: Descriptor) -> bool:
    return "foreign" in desc.media_type or "nondistributable" in desc.media_type


def _descriptor(obj: Any, where: str) -> Descriptor:
    if not isinstance(obj, dict):
        raise ManifestInvalid(f"{where}: descriptor must be an object")
    media_type = obj.get("mediaType")
    digest = obj.get("digest")
    size = obj.get("size")
    if not isinstance(media_type, str) or not media_type:
        raise ManifestInvalid(f"{where}: mediaType must be a non-empty string")
    if not isinstance(digest, str):
        raise ManifestInvalid(f"{where}: digest must be a string")
    if not isinstance(size, int) or isinstance(size, bool) or size < 0:
        raise ManifestInvalid(f"{where}: size must be a non-negative integer")
    try:
        parsed = Digest.parse(digest)
    except Exception as exc:  # DigestInvalid: reported as an invalid manifest
        raise ManifestInvalid(f"{where}: {exc}") from exc
    artifact_type = obj.get("artifactType")
    if artifact_type is not None and not isinstance(artifact_type, str):
        raise ManifestInvalid(f"{where}: artifactType must be a string")
    platform = obj.get("platform")
    if platform is not None and not isinstance(platform, dict):
        raise ManifestInvalid(f"{where}: platform must be an object")
    return Descriptor(media_type, parsed, size, artifact_type, platform)


def _annotations(obj: dict[str, Any]) -> dict[str, str]:
    ann = obj.get("annotations")
    if ann is None:
        return {}
    if not isinstance(ann, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in ann.items()
    ):
        raise ManifestInvalid("annotations must be a map of strings to strings")
    return ann


def detect_media_type(content_type: str | None, body: dict[str, Any]) -> str:
    """Decide a manifest's media type from the request Content-Type and the body's mediaType field."""
    declared = body.get("mediaType")
    if declared is not None and not isinstance(declared, str):
        raise ManifestInvalid("mediaType must be a string")
    ctype = (content_type or "").split(";", 1)[0].strip().lower() or None
    if declared and ctype and ctype in mt.SUPPORTED_MANIFESTS and declared != ctype:
        raise ManifestInvalid(f"mediaType {declared!r} does not match Content-Type {ctype!r}")
    if declared:
        media_type = declared
    elif ctype in mt.SUPPORTED_MANIFESTS:
        media_type = ctype
    elif "manifests" in body:
        media_type = mt.OCI_INDEX
    elif "config" in body:
        media_type = mt.OCI_MANIFEST
    else:
        media_type = ctype or ""
    if media_type in (mt.DOCKER_SCHEMA1, mt.DOCKER_SCHEMA1_SIGNED):
        raise ManifestInvalid("Docker schema1 manifests are not supported; push schema2 or OCI")
    if media_type not in mt.SUPPORTED_MANIFESTS:
        raise ManifestInvalid(f"unsupported manifest media type {media_type[:100]!r}")
    return media_type


def check_nesting(value: Any, limit: int = MAX_NESTING) -> None:
    """Refuse JSON nested deeper than ``limit`` arrays/objects (iterative: no recursion to exhaust)."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        children = node.values() if isinstance(node, dict) else node if isinstance(node, list) else None
        if children is None:
            continue
        if depth > limit:
            raise ManifestInvalid(f"manifest nests deeper than {limit} levels")
        stack.extend((child, depth + 1) for child in children if isinstance(child, dict | list))


def parse_manifest(raw: bytes, content_type: str | None) -> ParsedManifest:
    """Parse ``raw`` manifest bytes; raise ManifestInvalid with a readable reason when they are not valid."""
    try:
        body = json.loads(raw)
    except RecursionError:
        raise ManifestInvalid(f"manifest nests deeper than {MAX_NESTING} levels") from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise ManifestInvalid(f"manifest is not valid JSON: {exc}") from exc
    check_nesting(body)
    if not isinstance(body, dict):
        raise ManifestInvalid("manifest must be a JSON object")
    if body.get("schemaVersion") != 2:
        raise ManifestInvalid("schemaVersion must be 2")
    media_type = detect_media_type(content_type, body)
    artifact_type = body.get("artifactType")
    if artifact_type is not None and not isinstance(artifact_type, str):
        raise ManifestInvalid("artifactType must be a string")
    subject = _descriptor(body["subject"], "subject") if body.get("subject") is not None else None
    annotations = _annotations(body)
    if media_type in mt.INDEXES:
        children = body.get("manifests")
        if not isinstance(children, list):
            raise ManifestInvalid("an index needs a 'manifests' list")
        manifests = tuple(_descriptor(c, f"manifests[{i}]") for i, c in enumerate(children))
        return ParsedManifest(media_type, None, (), manifests, subject, artifact_type, annotations)
    if "config" not in body:
        raise ManifestInvalid("an image manifest needs a 'config' descriptor")
    config = _descriptor(body["config"], "config")
    layers_raw = body.get("layers", [])
    if not isinstance(layers_raw, list):
        raise ManifestInvalid("'layers' must be a list")
    if media_type == mt.DOCKER_MANIFEST and artifact_type is not None:
        raise ManifestInvalid("artifactType is not allowed in a Docker schema2 manifest")
    layers = tuple(_descriptor(layer, f"layers[{i}]") for i, layer in enumerate(layers_raw))
    return ParsedManifest(media_type, config, layers, (), subject, artifact_type, annotations)
