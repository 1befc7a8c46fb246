"""moorage.domain.digest: parsing and hashing."""

from __future__ import annotations

import hashlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from moorage.domain.digest import Digest, digest_of, is_digest, sha256_of
from moorage.domain.errors import DigestInvalid

HEX64 = "0123456789abcdef" * 4


def test_parse_sha256() -> None:
    d = Digest.parse(f"sha256:{HEX64}")
    assert d.algorithm == "sha256"
    assert d.hex == HEX64
    assert str(d) == f"sha256:{HEX64}"


def test_parse_sha512() -> None:
    hex128 = HEX64 * 2
    assert Digest.parse(f"sha512:{hex128}") == Digest("sha512", hex128)


@pytest.mark.parametrize(
    "value",
    [
        "",
        "sha256",
        "sha256:",
        ":" + HEX64,
        "sha256:" + HEX64[:-1],
        "sha256:" + HEX64 + "0",
        "sha256:" + HEX64.upper(),
        "sha256:" + "g" * 64,
        "SHA256:" + HEX64,
        "md5:" + "a" * 32,
        "sha512:" + HEX64,
        "sha256:" + HEX64 + "\n",
        " sha256:" + HEX64,
        "sha256::" + HEX64,
        "sha256:" + "a" * 300,
        "sha256+b64u:" + "a" * 43,
    ],
)
def test_parse_rejects(value: str) -> None:
    with pytest.raises(DigestInvalid):
        Digest.parse(value)


def test_digest_invalid_code() -> None:
    with pytest.raises(DigestInvalid) as info:
        Digest.parse("nope")
    assert info.value.code == "DIGEST_INVALID"


def test_is_digest() -> None:
    assert is_digest(f"sha256:{HEX64}")
    assert is_digest("a:b")
    assert not is_digest("latest")


def test_hashing_helpers() -> None:
    assert sha256_of(b"") == Digest("sha256", hashlib.sha256(b"").hexdigest())
    assert digest_of(b"abc", "sha512") == Digest("sha512", hashlib.sha512(b"abc").hexdigest())
    assert Digest.parse(str(sha256_of(b"x"))) == sha256_of(b"x")
    h = sha256_of(b"").new_hasher()
    h.update(b"abc")
    assert h.hexdigest() == hashlib.sha256(b"abc").hexdigest()


def test_digest_is_hashable_and_frozen() -> None:
    d = sha256_of(b"x")
    assert {d: 1}[Digest.parse(str(d))] == 1
    with pytest.raises(AttributeError):
        d.hex = "0"  # type: ignore[misc]


@given(st.binary(max_size=256), st.sampled_from(["sha256", "sha512"]))
def test_roundtrip(data: bytes, algorithm: str) -> None:
    d = digest_of(data, algorithm)
    assert Digest.parse(str(d)) == d


@given(st.text(max_size=300))
def test_random_strings_never_crash(value: str) -> None:
    try:
        d = Digest.parse(value)
    except DigestInvalid:
        return
    assert str(d) == value
