"""Realistic data for the whole-UI crawls (phone viewport, axe-core, no-JavaScript forms).

Everything goes through the server's own HTTP interfaces: images are pushed over ``/v2`` straight
from the suite's OCI layout (no client program needed), everything else through ``/api/v1``. The
names are long where real ones are long (cosign signature tags, CI build tags, robot names), since
those are what push a phone layout sideways.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass

import httpx
from tests.support.images import ImageSet, OciLayout
from tests.support.servers import RegistryServer

MANY_TAGS = 60  # more than a page (50) of tags
LONG_TAG = "release-2026.12.03-build.4711-linux-amd64-with-debug-symbols"
SIGNATURE_TYPE = "application/vnd.dev.cosign.artifact.sig.v1+json"


@dataclass(frozen=True)
class Seeded:
    org: str
    member: str
    member_password: str
    repo: str  # the public repository with many tags, an index, a signature and history


def _push_blob(http: httpx.Client, repo: str, data: bytes, digest: str) -> None:
    if http.head(f"/v2/{repo}/blobs/{digest}").status_code == 200:
        return
    r = http.post(f"/v2/{repo}/blobs/uploads/")
    assert r.status_code == 202, r.text
    location = r.headers["location"]
    sep = "&" if "?" in location else "?"
    r = http.put(
        f"{location}{sep}digest={digest}",
        content=data,
        headers={"content-type": "application/octet-stream"},
    )
    assert r.status_code == 201, r.text


def push(http: httpx.Client, layout: OciLayout, digest: str, media_type: str, repo: str, tag: str) -> None:
    """Push a manifest of the layout (an index with its children) and its blobs as repo:tag."""
    manifest = layout.manifest_json(digest)
    for child in manifest.get("manifests", []):
        push(http, layout, child["digest"], child["mediaType"], repo, child["digest"])
    for blob in [manifest.get("config"), *manifest.get("layers", [])]:
        if blob is not None:
            _push_blob(http, repo, layout.blob(blob["digest"]), blob["digest"])
    r = http.put(
        f"/v2/{repo}/manifests/{tag}", content=layout.blob(digest), headers={"content-type": media_type}
    )
    assert r.status_code == 201, (tag, r.text)


def seed(server: RegistryServer, images: ImageSet) -> Seeded:
    org = f"acme{secrets.token_hex(2)}"
    member, member_pw = server.alice, server.alice_password
    repo = f"{org}/backend-service"
    layout = images.layout
    hello, second = images.hello.manifest, images.second.manifest
    with httpx.Client(base_url=server.url, auth=(server.admin, server.password), timeout=60) as http:

        def api(method: str, path: str, body: object = None, ok: tuple[int, ...] = (200, 201)) -> None:
            r = http.request(method, f"/api/v1{path}", json=body)
            assert r.status_code in ok, (method, path, r.status_code, r.text)

        api("POST", "/organization/", {"name": org, "email": f"{org}@example.com"})
        description = (
            "The **backend** of the shop: REST API, workers and the nightly jobs. Pull it with the "
            "robot account of your team; see https://example.com/docs/backend-service for the "
            "deployment guide and the changelog."
        )
        api("POST", "/repository", {"namespace": org, "repository": "backend-service",
                                    "visibility": "public", "description": description})  # fmt: skip
        for name, vis in (("frontend", "private"), ("team/nested-app", "private"), ("empty", "private")):
            api("POST", "/repository", {"namespace": org, "repository": name, "visibility": vis})
        push(http, layout, hello.digest, hello.media_type, repo, "1")
        push(http, layout, second.digest, second.media_type, repo, "1")  # history: 1 moved
        push(http, layout, images.multi.digest, images.multi.media_type, repo, "multi")
        push(http, layout, hello.digest, hello.media_type, repo, LONG_TAG)
        push(http, layout, hello.digest, hello.media_type, repo, "doomed")
        assert http.delete(f"/api/v1/repository/{repo}/tag/doomed").status_code in (200, 204)
        for i in range(MANY_TAGS):
            push(http, layout, hello.digest, hello.media_type, repo, f"v1.0.{i}")
        signature = layout.add_artifact(
            artifact_type=SIGNATURE_TYPE,
            files={"signature.json": ("application/json", json.dumps({"critical": {}}).encode())},
            subject=second,
        )
        sig_tag = "sha256-" + second.digest.split(":", 1)[1] + ".sig"
        push(http, layout, signature.digest, signature.media_type, repo, sig_tag)
        push(http, layout, hello.digest, hello.media_type, f"{org}/team/nested-app", "v1")
        push(http, layout, hello.digest, hello.media_type, f"{org}/frontend", "latest")

        api("PUT", f"/organization/{org}/team/readers", {"role": "member", "description": "Read everything"})
        api("PUT", f"/organization/{org}/team/builders", {"role": "creator"})
        api("PUT", f"/organization/{org}/team/readers/members/{member}")
        api("PUT", f"/repository/{org}/frontend/permissions/team/readers", {"role": "read"})
        for robot in ("deployer", "continuous_integration_pipeline_builder"):
            api("PUT", f"/organization/{org}/robots/{robot}", {"description": "Deploys from CI"})
            api("PUT", f"/repository/{repo}/permissions/robot/{org}+{robot}", {"role": "write"})
            api("PUT", f"/organization/{org}/team/builders/members/{org}+{robot}")
        api("PUT", f"/repository/{repo}/permissions/user/{member}", {"role": "read"})
        api("POST", f"/organization/{org}/prototypes",
            {"role": "read", "delegate": {"kind": "team", "name": "readers"}})  # fmt: skip
        api("POST", f"/organization/{org}/applications",
            {"name": "ci-dashboard", "redirect_uri": "https://dashboard.example.com/oauth/callback",
             "application_uri": "https://dashboard.example.com/", "description": "Shows builds"})  # fmt: skip
        api("POST", "/superuser/users/", {"username": f"carol{secrets.token_hex(2)}", "password": "x" * 16})
        api("POST", "/user/apptoken", {"title": "laptop"})

    with httpx.Client(base_url=server.url, auth=(member, member_pw), timeout=60) as http:
        r = http.post(
            "/api/v1/repository", json={"namespace": member, "repository": "tool", "visibility": "private"}
        )
        assert r.status_code == 201, r.text
        push(http, layout, hello.digest, hello.media_type, f"{member}/tool", "latest")
        r = http.put("/api/v1/user/robots/builder", json={"description": "my laptop builds"})
        assert r.status_code in (200, 201), r.text
        r = http.post("/api/v1/user/apptoken", json={"title": "ci"})
        assert r.status_code in (200, 201), r.text
    return Seeded(org, member, member_pw, repo)
