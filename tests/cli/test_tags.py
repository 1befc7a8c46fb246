"""``moorage tag expire|restore``: a tag's expiration and the time machine from the command line."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from tests.cli.support import Cli, push_image


def test_expire_and_clear(org: Cli) -> None:
    org.ok("repo", "create", "acme/app")
    push_image(org.data_dir, "acme/app", "latest", b"one")
    out = org.json("tag", "expire", "acme/app", "latest", "--in", "2d")
    when = datetime.fromisoformat(out["expiration"])
    assert abs(when - (datetime.now(UTC) + timedelta(days=2))) < timedelta(minutes=5)
    (tag,) = org.json("repo", "tags", "acme/app")
    assert tag["expires"] == out["expiration"]
    assert org.json("tag", "expire", "acme/app", "latest", "--clear")["expiration"] is None
    assert org.json("repo", "tags", "acme/app")[0]["expires"] is None
    assert "no longer expires" in org.ok("tag", "expire", "acme/app", "latest", "--clear").stdout


def test_expire_refusals(org: Cli) -> None:
    org.ok("repo", "create", "acme/app")
    push_image(org.data_dir, "acme/app", "latest", b"one")
    assert "exactly one of" in org.fails(2, "tag", "expire", "acme/app", "latest")
    assert "exactly one of" in org.fails(2, "tag", "expire", "acme/app", "latest", "--in", "1d", "--clear")
    assert "is not a duration" in org.fails(2, "tag", "expire", "acme/app", "latest", "--in", "soon")
    assert "at most" in org.fails(2, "tag", "expire", "acme/app", "latest", "--in", "300w")
    assert "no tag 'nope'" in org.fails(1, "tag", "expire", "acme/app", "nope", "--in", "1d")
    assert org.json("repo", "tags", "acme/app")[0]["expires"] is None


def test_restore_after_move_and_delete(org: Cli) -> None:
    org.ok("repo", "create", "acme/app")
    first = push_image(org.data_dir, "acme/app", "latest", b"one")
    second = push_image(org.data_dir, "acme/app", "latest", b"two")
    out = org.json("tag", "restore", "acme/app", "latest", "--digest", first)
    assert out == {"name": "acme/app", "tag": "latest", "manifest_digest": first, "moved": True}
    assert [t["digest"] for t in org.json("repo", "tags", "acme/app")] == [first]
    assert "never pointed at" in org.fails(1, "tag", "restore", "acme/app", "other", "--digest", second)
    assert "invalid tag" in org.fails(2, "tag", "restore", "acme/app", "bad tag!", "--digest", second)
    assert (
        "Restored acme/app:latest"
        in org.ok("tag", "restore", "acme/app", "latest", "--digest", second).stdout
    )
    assert [t["digest"] for t in org.json("repo", "tags", "acme/app")] == [second]
