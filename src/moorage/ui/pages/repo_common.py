"""What every repository page shares: loading the repository with the caller's role, its header and
tabs, and the human words for manifest and artifact types.

Every repository page goes through :func:`load_repo`, which applies the same rule as the REST API
(``require_repo_role``): a caller who cannot read the repository is told it does not exist (404), one
who can read it but lacks the role gets 403. Templates get ``can_write``/``can_admin`` so they show
only the controls the caller may use; handlers check again on every POST.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlencode

from starlette.requests import Request

from moorage.authz.access import repo_role_at_least, require_repo_role
from moorage.domain import mediatypes as mt
from moorage.registry.repositories import RepositoryDetails
from moorage.ui.web import ctx, me, require_user

#: The path component that separates a repository name from its tab (never a valid name component).
SEP = "/-/"


@dataclass(frozen=True, slots=True)
class RepoView:
    """A repository as its pages show it, with what the caller may do there."""

    name: str
    namespace: str
    short: str
    namespace_url: str
    details: RepositoryDetails
    role: str
    sample_tag: str | None  # a tag to show in the pull command (latest when there is one)

    @property
    def can_write(self) -> bool:
        return repo_role_at_least(self.role, "write")

    @property
    def can_admin(self) -> bool:
        return repo_role_at_least(self.role, "admin")

    @property
    def url(self) -> str:
        return repo_url(self.name)

    def tab_url(self, tab: str) -> str:
        return repo_url(self.name, tab)

    @property
    def tabs(self) -> list[tuple[str, str, str]]:
        items = [("tags", "Tags", self.url), ("history", "Tag history", self.tab_url("history"))]
        if self.can_admin:
            items += [
                ("permissions", "Permissions", self.tab_url("permissions")),
                ("logs", "Usage logs", self.tab_url("logs")),
                ("settings", "Settings", self.tab_url("settings")),
            ]
        return items


def repo_url(name: str, tab: str | None = None) -> str:
    return f"/repository/{name}" + (f"{SEP}{tab}" if tab else "")


def manifest_url(name: str, digest: str) -> str:
    return repo_url(name, f"manifest/{quote(digest, safe=':')}")


def with_query(url: str, **params: str | int | None) -> str:
    """``url`` with the non-empty parameters as its query string."""
    kept = {k: str(v) for k, v in params.items() if v not in (None, "")}
    return f"{url}?{urlencode(kept)}" if kept else url


async def load_repo(request: Request, needed: str = "read", *, signed_in: bool = False) -> RepoView:
    """The repository of the request path with the caller's role; NotFound/Forbidden as the API does.

    ``signed_in`` sends an anonymous caller to sign in (after the 404 check, so a private repository's
    existence is not revealed by the redirect).
    """
    c = ctx(request)
    name = str(request.path_params["repo"])
    p = me(request)
    if signed_in and p.is_anonymous:
        await require_repo_role(c.authorizer, p, name, "read")
        require_user(request)
    role = await require_repo_role(c.authorizer, p, name, needed)
    details = await c.repositories.details(name)
    namespace, _, short = name.partition("/")
    kind = "organization" if await c.organizations.get(namespace) is not None else "user"
    return RepoView(
        name,
        namespace,
        short or name,
        f"/{kind}/{namespace}",
        details,
        role,
        await _sample_tag(request, name) if details.tag_count else None,
    )


async def _sample_tag(request: Request, name: str) -> str | None:
    tags = ctx(request).tags
    rows = await tags.page(name, only_active=True, specific="latest", limit=1, after=None)
    if not rows:
        rows = await tags.page(name, only_active=True, specific=None, limit=1, after=None)
    return rows[0].name if rows else None


# -- words for media types ---------------------------------------------------------------------------

IMAGE_CONFIGS = frozenset({mt.OCI_CONFIG, "application/vnd.docker.container.image.v1+json"})


def is_artifact(media_type: str, artifact_type: str | None) -> bool:
    """An OCI manifest whose artifact type is not an image config (Helm chart, signature, SBOM...)."""
    return media_type == mt.OCI_MANIFEST and artifact_type is not None and artifact_type not in IMAGE_CONFIGS


def manifest_kind(media_type: str, artifact_type: str | None = None) -> str:
    if media_type == mt.OCI_INDEX:
        return "OCI index (multi-arch)"
    if media_type == mt.DOCKER_MANIFEST_LIST:
        return "Docker manifest list"
    if media_type == mt.DOCKER_MANIFEST:
        return "Docker image"
    if is_artifact(media_type, artifact_type):
        return f"OCI artifact: {artifact_type}"
    if media_type == mt.OCI_MANIFEST:
        return "OCI image"
    return media_type


def platform_label(platform: Any) -> str | None:
    """``os/arch[/variant]`` of an index entry; None for entries without a real platform (attestations)."""
    if not isinstance(platform, dict):
        return None
    os_name, arch = platform.get("os"), platform.get("architecture")
    if not isinstance(os_name, str) or not isinstance(arch, str) or "unknown" in (os_name, arch):
        return None
    variant = platform.get("variant")
    return f"{os_name}/{arch}" + (f"/{variant}" if isinstance(variant, str) and variant else "")


def platforms_of(content: bytes) -> list[str]:
    """The platforms an index's manifests list names, in its order, without repeats."""
    try:
        body = json.loads(content)
    except ValueError:
        return []
    entries = body.get("manifests") if isinstance(body, dict) else None
    out: list[str] = []
    for entry in entries if isinstance(entries, list) else []:
        label = platform_label(entry.get("platform") if isinstance(entry, dict) else None)
        if label and label not in out:
            out.append(label)
    return out


def referrer_kind(artifact_type: str | None) -> str:
    """What an attached artifact is, in one word: signature, SBOM, attestation, or artifact."""
    t = (artifact_type or "").lower()
    if "signature" in t or "cosign.artifact.sig" in t or t.endswith(".sig"):
        return "signature"
    if any(word in t for word in ("spdx", "cyclonedx", "sbom", "syft")):
        return "SBOM"
    if any(word in t for word in ("in-toto", "attestation", "provenance", "slsa", "vex")):
        return "attestation"
    return "artifact"
