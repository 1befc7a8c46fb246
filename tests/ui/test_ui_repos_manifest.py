"""The manifest detail page: images (config and layers), indexes (platforms), artifacts (subject and
referrers), reached by digest or by tag; a missing config does not break it."""

from __future__ import annotations

import json
import re

from tests.api.support import Env
from tests.protocol.helpers import push_image
from tests.ui.conftest import BrowserFactory
from tests.ui.repos_support import (
    COSIGN_SIG,
    IMAGE_CONFIG,
    SPDX,
    push_described_image,
    push_index,
    push_referrer,
    retag,
)
from tests.ui.support import text_of

from moorage.domain.digest import Digest


def short(digest: str) -> str:
    return digest[: len("sha256:") + 12]


async def test_image_detail_shows_config_and_layers(env: Env, browser: BrowserFactory, uid: str) -> None:
    alice = await env.user(uid, "alice")
    repo = f"{alice.name}/app"
    image, config_digest, layers = await push_described_image(env, repo, "1.0", alice)
    b = await browser(alice)
    r = await b.get(f"/repository/{repo}/-/manifest/{image.digest}")
    page = text_of(r.text)
    assert "OCI image" in page
    assert image.digest in page
    assert "application/vnd.oci.image.manifest.v1+json" in page
    assert f"Manifest size {len(image.manifest)} B" in page
    # from the config blob
    assert "Architecture arm64" in page
    assert "OS linux" in page
    assert "Platform linux/arm64/v8" in page
    assert "2024-05-06T07:08:09Z" in page
    assert "org.opencontainers.image.source https://example.com/app.git" in page
    assert "APP_MODE=production" in page
    assert '["/usr/bin/app"]' in page
    assert '["--serve", "--port=8080"]' in page
    assert "Working directory /srv" in page
    assert "8080/tcp" in page
    assert "RUN make install-app" in page
    assert "ADD file:rootfs in /" in page
    # layers with sizes and media types
    assert "Layers (2)" in page
    for d in layers:
        assert short(d) in page
    assert "application/vnd.oci.image.layer.v1.tar+gzip" in page
    assert "1.8 KiB" in page
    assert "3.8 KiB" in page
    # the manifest itself, pretty-printed, and the placeholders for the scanner
    assert "<pre" in r.text
    assert json.dumps(json.loads(image.manifest), indent=2).split("\n")[1].strip() in page
    assert "Security report — appears here once vulnerability scanning is enabled" in page
    assert r.text.count('class="report-placeholder"') == 2
    assert "No signatures, SBOMs or other artifacts are attached" in page
    assert config_digest  # the config was read through the blob service, not shown as missing
    assert "missing" not in page


async def test_detail_by_tag_redirects_to_the_digest(env: Env, browser: BrowserFactory, uid: str) -> None:
    alice = await env.user(uid, "alice")
    repo = f"{alice.name}/app"
    digest = await env.push(repo, "1.0", alice)
    b = await browser(alice)
    r = await b.get(f"/repository/{repo}/-/manifest?tag=1.0", expect=303)
    assert r.headers["location"] == f"/repository/{repo}/-/manifest/{digest}?tag=1.0"
    page = text_of((await b.follow(r)).text)
    assert "Tag 1.0: OCI image" in page
    await b.get(f"/repository/{repo}/-/manifest?tag=nope", expect=404)
    await b.get(f"/repository/{repo}/-/manifest/1.0", expect=404)  # a tag is not a digest
    await b.get(f"/repository/{repo}/-/manifest/sha256:{'0' * 64}", expect=404)


async def test_index_detail_lists_platforms_with_links(env: Env, browser: BrowserFactory, uid: str) -> None:
    alice = await env.user(uid, "alice")
    repo = f"{alice.name}/multi"
    index = await push_index(env, repo, "1.0", alice, ("linux", "amd64", None), ("linux", "arm", "v7"))
    children = [m["digest"] for m in json.loads(index.manifest)["manifests"]]
    b = await browser(alice)
    r = await b.get(f"/repository/{repo}/-/manifest/{index.digest}")
    page = text_of(r.text)
    assert "OCI index (multi-arch)" in page
    assert "Platforms" in page
    assert "linux/amd64" in page
    assert "linux/arm/v7" in page
    for child in children:
        assert f'href="/repository/{repo}/-/manifest/{child}"' in r.text
    # a child's page is an image
    r = await b.get(f"/repository/{repo}/-/manifest/{children[1]}")
    assert "OCI image" in text_of(r.text)
    assert "Architecture amd64" in text_of(r.text)  # push_image's config says amd64


async def test_artifact_detail_shows_subject_and_the_subject_lists_it(
    env: Env, browser: BrowserFactory, uid: str
) -> None:
    alice = await env.user(uid, "alice")
    repo = f"{alice.name}/signed"
    image, _, _ = await push_described_image(env, repo, "1.0", alice)
    sig = await push_referrer(env, repo, image, COSIGN_SIG, alice, b'{"critical": {}}')
    sbom = await push_referrer(env, repo, image, SPDX, alice, b'{"spdxVersion": "SPDX-2.3"}')
    b = await browser(alice)
    r = await b.get(f"/repository/{repo}/-/manifest/{sig.digest}")
    page = text_of(r.text)
    assert f"OCI artifact: {COSIGN_SIG}" in page
    assert f"Artifact type {COSIGN_SIG}" in page
    assert f'href="/repository/{repo}/-/manifest/{image.digest}"' in r.text  # subject link
    assert "org.opencontainers.image.created 2024-01-02T03:04:05Z" in page  # annotations
    assert "Blobs (1)" in page
    assert "payload.json" in page
    assert "Image configuration" not in page  # an empty config is not an image config
    r = await b.get(f"/repository/{repo}/-/manifest/{image.digest}")
    page = text_of(r.text)
    assert f"signature {COSIGN_SIG}" in page
    assert f"SBOM {SPDX}" in page
    assert f'href="/repository/{repo}/-/manifest/{sig.digest}"' in r.text
    assert f'href="/repository/{repo}/-/manifest/{sbom.digest}"' in r.text


async def test_missing_config_blob_is_said_not_fatal(env: Env, browser: BrowserFactory, uid: str) -> None:
    alice = await env.user(uid, "alice")
    repo = f"{alice.name}/broken"
    image = await push_image(env.client, repo, "1.0", headers=alice.auth, seed=f"broken-{uid}")
    await env.services.storage.delete_blob(Digest.parse(image.config_digest))
    b = await browser(alice)
    r = await b.get(f"/repository/{repo}/-/manifest/{image.digest}")
    page = text_of(r.text)
    assert "The image configuration blob is missing from storage." in page
    assert "Layers (1)" in page


async def test_unparseable_config_is_said_not_fatal(env: Env, browser: BrowserFactory, uid: str) -> None:
    from tests.protocol.helpers import OCI_CONFIG, OCI_LAYER, descriptor, push_blob, push_manifest

    alice = await env.user(uid, "alice")
    repo = f"{alice.name}/odd"
    config = b"this is not json " + uid.encode()
    layer = b"layer " + uid.encode()
    await push_blob(env.client, repo, config, alice.auth)
    await push_blob(env.client, repo, layer, alice.auth)
    m = {
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": descriptor(OCI_CONFIG, config),
        "layers": [descriptor(OCI_LAYER, layer)],
    }
    r = await push_manifest(env.client, repo, "1.0", m, headers=alice.auth)
    assert r.status_code == 201, r.text
    b = await browser(alice)
    r = await b.get(f"/repository/{repo}/-/manifest?tag=1.0", expect=303)
    page = text_of((await b.follow(r)).text)
    assert "The image configuration is not valid JSON." in page


async def test_detail_lists_its_tags_and_matches_history_to_layers(
    env: Env, browser: BrowserFactory, uid: str
) -> None:
    alice = await env.user(uid, "alice")
    repo = f"{alice.name}/steps"
    history = [
        {"created_by": "/bin/sh -c #(nop) ADD file:rootfs in /"},
        {"created_by": "/bin/sh -c #(nop) ENV APP_MODE=production", "empty_layer": True},
        {"created_by": "RUN make install-app"},
        {"created_by": '/bin/sh -c #(nop) CMD ["--serve"]', "empty_layer": True},
    ]
    image, _, layers = await push_described_image(
        env, repo, "1.0", alice, {**IMAGE_CONFIG, "history": history}
    )
    await retag(env, repo, "stable", image.digest, alice)
    other = await push_image(env.client, repo, "other", headers=alice.auth)
    b = await browser(alice)
    r = await b.get(f"/repository/{repo}/-/manifest/{image.digest}")
    page = text_of(r.text)
    # the tags that point here, and not the others
    tags = re.search(r'<dd class="manifest-tags">(.*?)</dd>', r.text, flags=re.S)
    assert tags
    assert re.findall(r">([^<>]+)</a>", tags.group(1)) == ["1.0", "stable"]
    assert "other" not in text_of(tags.group(1))
    # each step that made a layer shows that layer, in order; the others say so
    steps = re.findall(
        r"<tr>\s*<td class=\"num\">(\d)</td>\s*<td><code>(.*?)</code></td>\s*(.*?)</tr>",
        r.text.split('class="list build-history"', 1)[1].split("</table>", 1)[0],
        flags=re.S,
    )
    assert [int(n) for n, _, _ in steps] == [1, 2, 3, 4]
    assert short(layers[0]) in steps[0][2]
    assert "1: " in text_of(steps[0][2])
    assert "no layer" in text_of(steps[1][2])
    assert short(layers[1]) in steps[2][2]
    assert "2: " in text_of(steps[2][2])
    assert "no layer" in text_of(steps[3][2])
    # the total is the size the tags page shows: config and layers
    total = (
        len(json.dumps({**IMAGE_CONFIG, "history": history}).encode())
        + len(b"first layer bytes " * 100)
        + len(b"second layer " * 300)
    )
    assert f"Total size {total / 1024:.1f} KiB (config and layers)" in page, page[page.find("Total size") :][
        :200
    ]
    tags_page = text_of((await b.get(f"/repository/{repo}")).text)
    assert tags_page.count(f"{total / 1024:.1f} KiB") == 2  # the rows of 1.0 and stable
    # a platform's manifest names the index tags it is pulled through
    index = await push_index(env, repo, "multi", alice, ("linux", "amd64", None))
    child = json.loads(index.manifest)["manifests"][0]["digest"]
    r = await b.get(f"/repository/{repo}/-/manifest/{child}")
    assert "no tag points here" in text_of(r.text)
    assert "through an index: multi" in text_of(r.text)
    assert other.digest not in r.text


async def test_history_that_does_not_add_up_matches_nothing(
    env: Env, browser: BrowserFactory, uid: str
) -> None:
    alice = await env.user(uid, "alice")
    repo = f"{alice.name}/odd"
    history = [{"created_by": "only one step that made a layer"}]  # but the manifest has two layers
    image, _, layers = await push_described_image(
        env, repo, "1.0", alice, {**IMAGE_CONFIG, "history": history}
    )
    b = await browser(alice)
    r = await b.get(f"/repository/{repo}/-/manifest/{image.digest}")
    page = text_of(r.text)
    assert "do not add up to the manifest's 2 layers" in page
    table = r.text.split('class="list build-history"', 1)[1].split("</table>", 1)[0]
    assert short(layers[0]) not in table
    assert "only one step that made a layer" in text_of(table)
