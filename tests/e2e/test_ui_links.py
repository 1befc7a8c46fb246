"""Every link of a seeded instance leads somewhere: a crawler follows each local link of the web UI
(as a superuser, an organization member and an anonymous visitor) and expects no 4xx or 5xx."""

from __future__ import annotations

import html
import re
import secrets
from collections import deque
from urllib.parse import urldefrag, urljoin, urlsplit

import httpx
import pytest
from tests.support.clients import ClientEnv, ContainersConfig
from tests.support.images import ImageSet
from tests.support.servers import RegistryServer

pytestmark = pytest.mark.e2e

_HREF = re.compile(r"""<a\s[^>]*href=["']([^"']+)["']""", re.I)
_CSRF = re.compile(r'name="csrf_token" value="([^"]*)"')
MAX_PAGES = 600


def _seed(server: RegistryServer, client: ClientEnv, images: ImageSet) -> tuple[str, str]:
    """An organization with teams, robots, defaults, an app, a public and a private repository with
    a single image, a multi-arch index and tag history; and a member with read access."""
    member, member_pw = f"member{secrets.token_hex(3)}", secrets.token_urlsafe(12)
    org = f"crawl{secrets.token_hex(3)}"
    with httpx.Client(
        base_url=f"{server.url}/api/v1", auth=(server.admin, server.password), timeout=30
    ) as api:
        assert (
            api.post("/superuser/users/", json={"username": member, "password": member_pw}).status_code == 201
        )
        assert api.post("/organization/", json={"name": org}).status_code == 201
        for repo, vis in (("app", "public"), ("private-app", "private"), ("team/nested", "private")):
            r = api.post("/repository", json={"namespace": org, "repository": repo, "visibility": vis})
            assert r.status_code == 201, r.text
        creds = f"{server.admin}:{server.password}"
        dest = f"docker://{server.host}/{org}"
        client.skopeo(
            "copy", "--dest-tls-verify=false", "--dest-creds", creds, images.ref("hello"), f"{dest}/app:1"
        )
        client.skopeo(
            "copy", "--dest-tls-verify=false", "--dest-creds", creds, images.ref("second"), f"{dest}/app:1"
        )
        client.skopeo(
            "copy",
            "--all",
            "--dest-tls-verify=false",
            "--dest-creds",
            creds,
            images.ref("multi"),
            f"{dest}/app:multi",
        )
        client.skopeo(
            "copy",
            "--dest-tls-verify=false",
            "--dest-creds",
            creds,
            images.ref("hello"),
            f"{dest}/team/nested:v1",
        )
        assert api.put(f"/organization/{org}/team/readers", json={"role": "member"}).status_code == 200
        assert api.put(f"/organization/{org}/team/readers/members/{member}").status_code == 200
        r = api.put(f"/repository/{org}/private-app/permissions/team/readers", json={"role": "read"})
        assert r.status_code == 200, r.text
        assert api.put(f"/organization/{org}/robots/deployer", json={"description": "CD"}).status_code == 201
        r = api.put(f"/repository/{org}/app/permissions/robot/{org}+deployer", json={"role": "write"})
        assert r.status_code == 200, r.text
        r = api.post(
            f"/organization/{org}/prototypes",
            json={"role": "read", "delegate": {"kind": "team", "name": "readers"}},
        )
        assert r.status_code in (200, 201), r.text
        assert api.post(f"/organization/{org}/applications", json={"name": "ci-dashboard"}).status_code == 201
    return member, member_pw


def _sign_in(http: httpx.Client, user: str, password: str) -> None:
    page = http.get("/signin").text
    token = html.unescape(_CSRF.search(page).group(1))  # type: ignore[union-attr]
    r = http.post("/signin", data={"username": user, "password": password, "csrf_token": token})
    assert r.status_code == 200, (r.status_code, r.text[:300])
    assert r.url.path == "/", r.url
    assert "moorage_session" in http.cookies


def _crawl(http: httpx.Client, start: str = "/") -> dict[str, int]:
    seen: dict[str, int] = {}
    queue = deque([start])
    while queue and len(seen) < MAX_PAGES:
        url = queue.popleft()
        if url in seen:
            continue
        r = http.get(url)
        seen[url] = r.status_code
        if not r.headers.get("content-type", "").startswith("text/html") or r.status_code >= 400:
            continue
        for href in _HREF.findall(r.text):
            target, _ = urldefrag(urljoin(url, html.unescape(href)))
            parts = urlsplit(target)
            if (
                parts.scheme in ("http", "https")
                and parts.netloc
                and parts.netloc != urlsplit(str(http.base_url)).netloc
            ):
                continue
            if parts.scheme not in ("", "http", "https"):
                continue  # mailto: and the like
            local = parts.path + (f"?{parts.query}" if parts.query else "")
            if local not in seen:
                queue.append(local)
    return seen


@pytest.fixture(scope="module")
def seeded_member(
    ui_server: RegistryServer,
    containers_config: ContainersConfig,
    images: ImageSet,
    tmp_path_factory: pytest.TempPathFactory,
) -> tuple[str, str]:
    client = ClientEnv(tmp_path_factory.mktemp("crawl-seed"), containers_config)
    return _seed(ui_server, client, images)


@pytest.mark.parametrize("who", ["admin", "member", "anonymous"])
def test_every_link_answers(who: str, ui_server: RegistryServer, seeded_member: tuple[str, str]) -> None:
    member, member_pw = seeded_member
    with httpx.Client(base_url=ui_server.url, timeout=30, follow_redirects=True) as http:
        if who == "admin":
            _sign_in(http, ui_server.admin, ui_server.password)
        elif who == "member":
            _sign_in(http, member, member_pw)
        pages = _crawl(http)
    broken = {u: s for u, s in pages.items() if s >= 400}
    assert len(pages) > (25 if who != "anonymous" else 3), sorted(pages)
    assert not broken, broken
