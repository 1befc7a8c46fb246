"""The seed scenario: an organization, a repository filled with skopeo, a read-only robot used by a
real Docker daemon, and a robot of another organization that cannot even see the repository."""

from __future__ import annotations

import secrets

import httpx
import pytest
from tests.support.clients import ClientEnv
from tests.support.images import ImageSet
from tests.support.servers import RegistryServer

pytestmark = pytest.mark.e2e

ORG = "application-images"


def _api(server: RegistryServer, user: str, password: str) -> httpx.Client:
    return httpx.Client(base_url=f"{server.url}/api/v1", auth=(user, password), timeout=30.0)


def test_seed_scenario_robot_pulls_with_docker_and_cannot_push(
    moorage_server: RegistryServer, client: ClientEnv, docker_client: ClientEnv, images: ImageSet
) -> None:
    server = moorage_server
    dev, dev_password = "devuser", secrets.token_urlsafe(16)
    with _api(server, server.admin, server.password) as admin:
        r = admin.post("/superuser/users/", json={"username": dev, "password": dev_password})
        assert r.status_code == 201, r.text

    with _api(server, dev, dev_password) as api:
        r = api.post("/organization/", json={"name": ORG, "email": "images@example.com"})
        assert r.status_code == 201, r.text
        r = api.post("/repository", json={"namespace": ORG, "repository": "test", "visibility": "private"})
        assert r.status_code == 201, r.text

        # the developer copies an image in with skopeo, using their own credentials
        client.skopeo(
            "copy",
            "--preserve-digests",
            "--dest-creds",
            f"{dev}:{dev_password}",
            images.ref("hello"),
            f"docker://{server.host}/{ORG}/test:1",
        )

        r = api.put(f"/organization/{ORG}/robots/jenkins", json={"description": "CI pulls"})
        assert r.status_code == 201, r.text
        robot = r.json()
        assert robot["name"] == f"{ORG}+jenkins"
        token = robot["token"]
        assert len(token) == 64
        r = api.put(f"/repository/{ORG}/test/permissions/robot/{ORG}+jenkins", json={"role": "read"})
        assert r.status_code == 200, r.text

        # a second organization with its own robot
        r = api.post("/organization/", json={"name": "other-org"})
        assert r.status_code == 201, r.text
        r = api.put("/organization/other-org/robots/ci", json={})
        assert r.status_code == 201, r.text
        other_token = r.json()["token"]

    # docker login as the robot and pull with a real Docker daemon
    login = docker_client.docker(
        "login", "-u", f"{ORG}+jenkins", "--password-stdin", server.host, input_text=token
    )
    assert "Login Succeeded" in login.output
    ref = f"{server.host}/{ORG}/test:1"
    docker_client.docker("pull", ref)
    inspected = docker_client.docker("image", "inspect", "--format", "{{.Id}}", ref).stdout.strip()
    assert inspected.startswith("sha256:")

    # the same robot may not push, not even to the repository it can read
    docker_client.docker("tag", ref, f"{server.host}/{ORG}/test:pushed-by-robot")
    denied = docker_client.docker_fails("push", f"{server.host}/{ORG}/test:pushed-by-robot")
    assert "denied" in denied.output.lower() or "unauthorized" in denied.output.lower(), denied.output
    with _api(server, server.admin, server.password) as admin:
        tags = admin.get(f"/repository/{ORG}/test/tag/").json()["tags"]
    assert [t["name"] for t in tags] == ["1"]

    # the other organization's robot cannot even see the repository: it looks like a missing one
    other = f"other-org+ci:{other_token}"
    hidden = client.skopeo_fails("inspect", "--raw", "--creds", other, f"docker://{server.host}/{ORG}/test:1")
    missing = client.skopeo_fails(
        "inspect", "--raw", "--creds", other, f"docker://{server.host}/{ORG}/does-not-exist:1"
    )
    assert _error_kind(hidden.output) == _error_kind(missing.output), (hidden.output, missing.output)
    with httpx.Client(base_url=server.url, timeout=30.0) as http:
        tok = http.get(
            "/v2/auth",
            params={"service": "moorage", "scope": ["registry:catalog:*", f"repository:{ORG}/test:pull"]},
            auth=("other-org+ci", other_token),
        )
        assert tok.status_code == 200
        bearer = {"Authorization": f"Bearer {tok.json()['token']}"}
        catalog = http.get("/v2/_catalog", headers=bearer).json()["repositories"]
        assert f"{ORG}/test" not in catalog
        api_view = http.get(f"/api/v1/repository/{ORG}/test", auth=("other-org+ci", other_token))
        api_missing = http.get(f"/api/v1/repository/{ORG}/nothing-here", auth=("other-org+ci", other_token))
        assert api_view.status_code == api_missing.status_code == 404


def _error_kind(output: str) -> str:
    """The client's error without the repository name, to compare two failures."""
    text = output.lower()
    for marker in (
        "requested access to the resource is denied",
        "authentication required",
        "unauthorized",
        "manifest unknown",
        "name unknown",
        "denied",
    ):
        if marker in text:
            return marker
    return text[-200:]
