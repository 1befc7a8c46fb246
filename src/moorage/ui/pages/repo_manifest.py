"""The manifest detail page: the manifest itself, and what it describes.

For an image: the config blob (created, platform, labels, environment, entrypoint/cmd, history) and
the layers; for an index: one row per platform, linking to each child's page; for an artifact: its
type, annotations and blobs. Subject and referrers link to their own pages. The config is read
through the blob service, capped at :data:`CONFIG_CAP` bytes, and a missing or unreadable config is
shown as such instead of failing the page.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute

from moorage.domain.digest import Digest
from moorage.domain.errors import DigestInvalid, ManifestInvalid, NotFound
from moorage.domain.manifest import Descriptor, ParsedManifest, parse_manifest
from moorage.domain.reference import is_valid_tag
from moorage.ui.pages.repo_common import (
    IMAGE_CONFIGS,
    is_artifact,
    load_repo,
    manifest_kind,
    manifest_url,
    platform_label,
    referrer_kind,
)
from moorage.ui.web import ctx, page, redirect, render

CONFIG_CAP = 1024 * 1024


@dataclass(frozen=True, slots=True)
class ImageConfig:
    """What the page shows of an image's config blob."""

    created: str | None = None
    architecture: str | None = None
    os: str | None = None
    variant: str | None = None
    author: str | None = None
    user: str | None = None
    workdir: str | None = None
    entrypoint: list[str] | None = None
    cmd: list[str] | None = None
    env: list[str] = field(default_factory=list)
    labels: dict[str, str] = field(default_factory=dict)
    ports: list[str] = field(default_factory=list)
    history: list[dict[str, Any]] = field(default_factory=list)


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _strings(value: Any) -> list[str] | None:
    if isinstance(value, list):
        return [str(v) for v in value]
    return [value] if isinstance(value, str) else None


def _obj(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def parse_config(raw: bytes) -> ImageConfig | str:
    """The facts of an image config, or why they cannot be shown."""
    try:
        body = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        return "The image configuration is not valid JSON."
    if not isinstance(body, dict):
        return "The image configuration is not a JSON object."
    cfg = _obj(body.get("config"))
    labels = _obj(cfg.get("Labels"))
    ports = _obj(cfg.get("ExposedPorts"))
    history = [h for h in body.get("history") or [] if isinstance(h, dict)]
    return ImageConfig(
        created=_str(body.get("created")),
        architecture=_str(body.get("architecture")),
        os=_str(body.get("os")),
        variant=_str(body.get("variant")),
        author=_str(body.get("author")),
        user=_str(cfg.get("User")),
        workdir=_str(cfg.get("WorkingDir")),
        entrypoint=_strings(cfg.get("Entrypoint")),
        cmd=_strings(cfg.get("Cmd")),
        env=[str(e) for e in cfg.get("Env") or [] if isinstance(e, str)],
        labels={str(k): str(v) for k, v in labels.items()},
        ports=sorted(str(p) for p in ports),
        history=history,
    )


@dataclass(frozen=True, slots=True)
class ChildRow:
    """One entry of an index: its platform (or why it has none) and where it leads."""

    platform: str
    descriptor: Descriptor
    kind: str
    url: str
    annotations: dict[str, str]


def _children(repo: str, body: Any, parsed: ParsedManifest) -> list[ChildRow]:
    entries = body.get("manifests") if isinstance(body, dict) else None
    out = []
    for i, d in enumerate(parsed.manifests):
        raw = entries[i] if isinstance(entries, list) and i < len(entries) else {}
        ann = raw.get("annotations") if isinstance(raw, dict) else None
        annotations = {str(k): str(v) for k, v in ann.items()} if isinstance(ann, dict) else {}
        label = platform_label(d.platform)
        if label is None:
            kind_ann = annotations.get("vnd.docker.reference.type")
            label = "attestation" if kind_ann == "attestation-manifest" else "no platform"
        out.append(
            ChildRow(
                label,
                d,
                manifest_kind(d.media_type, d.artifact_type),
                manifest_url(repo, str(d.digest)),
                annotations,
            )
        )
    return out


def _layers(body: Any, parsed: ParsedManifest) -> list[tuple[Descriptor, str | None]]:
    """Layers (or an artifact's blobs) with their file name annotation, when they carry one."""
    entries = body.get("layers") if isinstance(body, dict) else None
    out = []
    for i, d in enumerate(parsed.layers):
        raw = entries[i] if isinstance(entries, list) and i < len(entries) else {}
        ann = raw.get("annotations") if isinstance(raw, dict) else None
        title = ann.get("org.opencontainers.image.title") if isinstance(ann, dict) else None
        out.append((d, title if isinstance(title, str) else None))
    return out


@dataclass(frozen=True, slots=True)
class BuildStep:
    """One entry of the config's history with the layer it made (None for metadata-only steps)."""

    number: int
    command: str
    created: str | None
    layer: Descriptor | None
    layer_number: int | None


def build_steps(history: list[dict[str, Any]], layers: list[Descriptor]) -> tuple[list[BuildStep], bool]:
    """Match the history to the layers as the image spec defines it: every entry without
    ``empty_layer: true`` made the next layer, in order. The flag says whether the counts agree
    (they may not for hand-made images); then the steps show no layer rather than a wrong one."""
    makes_layer = [not h.get("empty_layer") for h in history]
    agree = sum(makes_layer) == len(layers)
    steps, n = [], 0
    for i, h in enumerate(history):
        layer = None
        if makes_layer[i] and agree:
            layer = layers[n]
            n += 1
        command = _str(h.get("created_by")) or _str(h.get("comment")) or "(no command recorded)"
        steps.append(BuildStep(i + 1, command, _str(h.get("created")), layer, n if layer else None))
    return steps, agree


async def _config(request: Request, repo: str, parsed: ParsedManifest) -> ImageConfig | str | None:
    """The image config, a sentence saying why it cannot be shown, or None (not an image)."""
    if parsed.config is None or parsed.config.media_type not in IMAGE_CONFIGS:
        return None
    if parsed.config.size > CONFIG_CAP:
        return f"The image configuration is larger than {CONFIG_CAP // 1024} KiB; it is not shown here."
    raw = await ctx(request).blobs.read_head(repo, parsed.config.digest, CONFIG_CAP)
    if raw is None:
        return "The image configuration blob is missing from storage."
    return parse_config(raw)


async def manifest_detail(request: Request) -> Response:
    view = await load_repo(request)
    c = ctx(request)
    reference = str(request.path_params.get("digest", ""))
    tag = request.query_params.get("tag", "")[:128]
    if not reference:
        # by tag: /-/manifest?tag=latest answers with the page of the manifest the tag points to
        if not is_valid_tag(tag):
            raise NotFound("Give a tag (?tag=) or a digest")
        record = await c.manifests.get(view.name, tag)
        return redirect(request, manifest_url(view.name, record.digest) + f"?tag={tag}")
    try:
        digest = Digest.parse(reference)
    except DigestInvalid:
        raise NotFound(f"{reference[:100]!r} is not a digest") from None
    record = await c.manifests.get(view.name, str(digest))
    try:
        body: Any = json.loads(record.content)
        pretty = json.dumps(body, indent=2)
    except (ValueError, UnicodeDecodeError):
        body, pretty = None, record.content.decode("utf-8", "replace")
    try:
        parsed: ParsedManifest | None = parse_manifest(record.content, record.media_type)
    except ManifestInvalid:
        parsed = None
    referrers = [
        (r, referrer_kind(r.artifact_type), manifest_url(view.name, r.digest))
        for r in await c.referrers.list(view.name, digest)
    ]
    subject = parsed.subject if parsed else None
    children = _children(view.name, body, parsed) if parsed and parsed.is_index else []
    linked = [str(ch.descriptor.digest) for ch in children] + ([str(subject.digest)] if subject else [])
    present = await c.manifests.present(view.name, linked)
    tags_here, via_index = await c.tags.pointing_at(view.name, str(digest))
    config = await _config(request, view.name, parsed) if parsed else None
    steps, steps_agree = (
        build_steps(config.history, list(parsed.layers))
        if parsed and isinstance(config, ImageConfig)
        else ([], True)
    )
    variables: dict[str, Any] = {
        "repo": view,
        "tab": "tags",
        "digest": str(digest),
        "record": record,
        "size": len(record.content),
        "pretty": pretty,
        "parsed": parsed,
        "tag": tag if is_valid_tag(tag) else "",
        "kind": manifest_kind(record.media_type, parsed.effective_artifact_type if parsed else None),
        "artifact": parsed is not None and is_artifact(parsed.media_type, parsed.effective_artifact_type),
        "config": config,
        "steps": steps,
        "steps_agree": steps_agree,
        "tags_here": tags_here,
        "via_index": [(t, d, manifest_url(view.name, d)) for t, d in via_index],
        "layers": _layers(body, parsed) if parsed else [],
        "children": children,
        "present": present,
        # the size every list shows (config and layers; for an index, its platforms' too)
        "total": await c.tags.content_size(str(digest)) if parsed else None,
        "referrers": referrers,
        "subject": str(subject.digest) if subject else None,
        "subject_url": manifest_url(view.name, str(subject.digest)) if subject else None,
    }
    return render(request, "repo_manifest.html", **variables)


routes: list[BaseRoute] = [
    page("/repository/{repo:path}/-/manifest", manifest_detail),
    page("/repository/{repo:path}/-/manifest/{digest}", manifest_detail),
]
