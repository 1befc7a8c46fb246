"""Permission smoke tests with skopeo: users own only their namespace; anonymous users see nothing private."""

from __future__ import annotations

import httpx
import pytest
from tests.support.clients import ClientEnv
from tests.support.images import ImageSet
from tests.support.servers import RegistryServer

pytestmark = pytest.mark.e2e

PLAIN = "--tls-verify=false"
DENIED = ("denied", "unauthorized", "authentication required")


def assert_denied(output: str) -> None:
    lowered = output.lower()
    assert any(word in lowered for word in DENIED), output


def push(client: ClientEnv, creds: str, source: str, dest: str, *, ok: bool = True) -> str:
    args = ("copy", "--preserve-digests", "--dest-tls-verify=false", "--dest-creds", creds, source, dest)
    return (client.skopeo(*args) if ok else client.skopeo_fails(*args)).describe()


def test_alice_pushes_only_to_her_namespace(
    client: ClientEnv, moorage_server: RegistryServer, images: ImageSet
) -> None:
    alice = f"{moorage_server.alice}:{moorage_server.alice_password}"
    host = moorage_server.host
    client.skopeo_login(host, moorage_server.alice, moorage_server.alice_password)

    push(client, alice, images.ref("hello"), f"docker://{host}/alice/app:v1")
    _, digest = client.skopeo_raw_manifest(f"docker://{host}/alice/app:v1", PLAIN)
    assert digest == images.hello.manifest.digest

    for forbidden in ("admin/alice-was-here:v1", "other/app:v1"):
        assert_denied(push(client, alice, images.ref("hello"), f"docker://{host}/{forbidden}", ok=False))


def test_private_repositories_are_hidden(
    client: ClientEnv, moorage_server: RegistryServer, images: ImageSet
) -> None:
    host = moorage_server.host
    admin = f"{moorage_server.admin}:{moorage_server.password}"
    alice = f"{moorage_server.alice}:{moorage_server.alice_password}"
    push(client, alice, images.ref("hello"), f"docker://{host}/alice/private:v1")
    push(client, admin, images.ref("hello"), f"docker://{host}/admin/private:v1")

    anonymous = client.skopeo_fails(
        "inspect", "--raw", PLAIN, "--no-creds", f"docker://{host}/alice/private:v1"
    )
    assert_denied(anonymous.output)
    tags = client.skopeo_fails("list-tags", PLAIN, "--no-creds", f"docker://{host}/alice/private")
    assert_denied(tags.output)

    by_alice = client.skopeo_fails(
        "inspect", "--raw", PLAIN, "--creds", alice, f"docker://{host}/admin/private:v1"
    )
    assert_denied(by_alice.output)
    # the superuser reads everything
    _, digest = client.skopeo_raw_manifest(f"docker://{host}/alice/private:v1", PLAIN, "--creds", admin)
    assert digest == images.hello.manifest.digest


def test_anonymous_v2_gets_a_bearer_challenge(moorage_server: RegistryServer) -> None:
    """What docker, podman and skopeo read first: the token realm must point back at this server."""
    response = httpx.get(f"{moorage_server.url}/v2/", timeout=10.0)
    assert response.status_code == 401
    challenge = response.headers.get("WWW-Authenticate", "")
    assert challenge.startswith("Bearer "), challenge
    assert f'realm="{moorage_server.url}/v2/auth"' in challenge, challenge
    assert 'service="' in challenge, challenge
    assert response.json()["errors"][0]["code"] == "UNAUTHORIZED"

    token = httpx.get(
        f"{moorage_server.url}/v2/auth",
        params={
            "service": challenge.split('service="', 1)[1].split('"', 1)[0],
            "scope": "repository:alice/app:pull",
        },
        auth=(moorage_server.alice, moorage_server.alice_password),
        timeout=10.0,
    )
    assert token.status_code == 200, token.text
    assert token.json().get("token") or token.json().get("access_token")

    wrong = httpx.get(f"{moorage_server.url}/v2/auth", auth=(moorage_server.alice, "wrong"), timeout=10.0)
    assert wrong.status_code == 401, wrong.text
