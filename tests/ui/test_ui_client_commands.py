"""The copy-and-paste commands of every page carry the flags the registry's address needs: podman,
skopeo and oras flags on plain HTTP, Docker's insecure-registries advice where Docker needs it (plain
HTTP to a host that is not loopback), and nothing extra on HTTPS."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio
from tests.api.support import Env, build_env, settings_for
from tests.ui.support import Browser, text_of

from moorage.domain.clientcommands import ClientCommands

ADVICE = '"insecure-registries" of /etc/docker/daemon.json'


async def _env_at(public_url: str, tmp: Path) -> AsyncIterator[Env]:
    async for e in build_env(settings_for(tmp, None, public_url=public_url)):
        yield e


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def lan_env(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Env]:
    """Served over plain HTTP at a LAN address: every client needs to be told."""
    async for e in _env_at("http://registry.lan:5000", tmp_path_factory.mktemp("lan")):
        yield e


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def tls_env(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Env]:
    async for e in _env_at("https://registry.example.test", tmp_path_factory.mktemp("tls")):
        yield e


async def _pages(env: Env, uid: str) -> dict[str, str]:
    """The visible text of each page that prints commands, for a user with an empty repository
    and an empty organization, and of a robot's credentials."""
    alice = await env.user(uid, "alice")
    org = (await env.org(uid, alice)).name
    await env.repo(f"{alice.name}/empty", alice)
    robot = await env.robot(org, "ci", alice)
    b = Browser(env.app)
    if env.settings.base_url.startswith("https://"):
        b.client.base_url = "https://testserver"  # secure cookies travel over HTTPS only
    try:
        await b.sign_in(alice.name, alice.password)
        pages = {
            "repository": (await b.get(f"/repository/{alice.name}/empty")).text,
            "organization": (await b.get(f"/organization/{org}")).text,
            "settings": (await b.get("/settings")).text,
        }
        r = await b.post(
            f"/organization/{org}/robots/ci/reveal", {}, headers={"HX-Request": "true"}, expect=200
        )
        pages["robot"] = r.text
        pages["token"] = (
            await b.post("/settings/tokens", {"title": "ci", "expires": ""}, form_page="/settings/tokens")
        ).text
    finally:
        await b.close()
    texts = {name: text_of(page) for name, page in pages.items()}
    texts["robot_name"] = robot.name
    texts["alice"] = alice.name
    texts["org"] = org
    return texts


async def test_plain_http_lan_address_gets_every_flag_and_the_docker_advice(lan_env: Env, uid: str) -> None:
    t = await _pages(lan_env, uid)
    alice, org, host = t["alice"], t["org"], "registry.lan:5000"
    repo = f"{host}/{alice}/empty:1.0"
    for command in (
        f"docker push {repo}",
        f"podman push --tls-verify=false IMAGE {repo}",
        f"skopeo copy --dest-tls-verify=false docker-archive:image.tar docker://{repo}",
        f"oras push --plain-http {repo} file.txt",
    ):
        assert command in t["repository"], command
    assert f"podman push --tls-verify=false IMAGE {host}/{org}/app:1.0" in t["organization"]
    assert (
        f"skopeo copy --dest-tls-verify=false docker-archive:image.tar docker://{host}/{org}/app:1.0"
        in (t["organization"])
    )
    assert f"podman login --tls-verify=false {host} -u {alice}" in t["settings"]
    assert f"skopeo login --tls-verify=false {host} -u {alice}" in t["settings"]
    assert f"podman login --tls-verify=false -u='{t['robot_name']}' -p=" in t["robot"]
    for page in ("repository", "organization", "settings"):
        assert ADVICE in t[page], page
        assert f"Docker also needs {host} among the" in t[page], page


async def test_https_address_gets_no_insecure_flags(tls_env: Env, uid: str) -> None:
    t = await _pages(tls_env, uid)
    host = "registry.example.test"
    repo = f"{host}/{t['alice']}/empty:1.0"
    assert f"podman push IMAGE {repo}" in t["repository"]
    assert f"skopeo copy docker-archive:image.tar docker://{repo}" in t["repository"]
    assert f"oras push {repo} file.txt" in t["repository"]
    assert f"podman login {host} -u {t['alice']}" in t["settings"]
    assert "docker login -u='$app' -p='" in t["token"]
    assert t["token"].split("docker login -u='$app' -p='", 1)[1].split(" ", 1)[1].startswith(host)
    for name, text in t.items():
        assert "--tls-verify" not in text, name
        assert "--plain-http" not in text, name
        assert "insecure-registries" not in text, name


@pytest.mark.parametrize(
    ("base_url", "host", "flag", "advice"),
    [
        ("http://127.0.0.1:5400", "127.0.0.1:5400", True, False),
        ("http://localhost:5000", "localhost:5000", True, False),
        ("http://[::1]:5000", "[::1]:5000", True, False),
        ("http://10.0.0.5:5000", "10.0.0.5:5000", True, True),
        ("https://registry.example.test", "registry.example.test", False, False),
    ],
)
def test_client_commands_for_each_kind_of_address(base_url: str, host: str, flag: bool, advice: bool) -> None:
    c = ClientCommands(base_url)
    assert c.host == host
    assert (c.login("podman", "alice") == f"podman login --tls-verify=false {host} -u alice") is flag
    assert c.login("docker", "alice") == f"docker login {host} -u alice"
    assert ("--dest-tls-verify=false" in c.skopeo_copy("oci:dir:1", "a/b", "1")) is flag
    assert (c.insecure_registries_advice is not None) is advice
