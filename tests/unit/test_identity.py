"""moorage.identity: registry bearer tokens, signing keys and password hashing."""

from __future__ import annotations

import time
from pathlib import Path

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from moorage.identity.keys import key_id, load_or_create_signing_key
from moorage.identity.passwords import hash_password, verify_password
from moorage.identity.tokens import AccessEntry, AccountRef, InvalidToken, TokenService


@pytest.fixture(scope="module")
def key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


@pytest.fixture
def tokens(key: ec.EllipticCurvePrivateKey) -> TokenService:
    return TokenService(key, "moorage", 300, 3600)


def test_issue_and_verify(tokens: TokenService) -> None:
    access = [
        AccessEntry("repository", "alice/app", ("pull", "push")),
        AccessEntry("registry", "catalog", ("*",)),
    ]
    token, expires_in, issued_at = tokens.issue("alice", access)
    assert expires_in == 300
    assert abs(issued_at - time.time()) < 5
    claims = tokens.verify(token)
    assert claims.subject == "alice"
    assert claims.kind == "access"
    assert claims.access == tuple(access)
    assert claims.actions_for("repository", "alice/app") == {"pull", "push"}
    assert claims.actions_for("repository", "alice/other") == frozenset()
    assert claims.actions_for("registry", "catalog") == {"*"}
    header = jwt.get_unverified_header(token)
    assert header["alg"] == "ES256"
    assert header["kid"] == key_id(tokens._key)
    assert claims.expires_at == pytest.approx(time.time() + 300, abs=5)


def test_refresh_token_kind(tokens: TokenService) -> None:
    claims = tokens.verify(tokens.issue_refresh("alice"))
    assert claims.kind == "refresh"
    assert claims.subject == "alice"
    assert claims.access == ()


def test_tokens_carry_account_id_generation_credential_and_scopes(tokens: TokenService) -> None:
    account = AccountRef("user", 42, 7_000_000_000_123)
    token, _, _ = tokens.issue(
        "frank", [], account=account, credential="oauth:9", scopes=frozenset({"user:read"})
    )
    claims = tokens.verify(token)
    assert claims.account == account
    assert claims.credential == "oauth:9"
    assert claims.scopes == frozenset({"user:read"})
    refresh = tokens.verify(tokens.issue_refresh("frank", account))
    assert refresh.kind == "refresh"
    assert refresh.account == account
    assert refresh.credential is None
    assert refresh.scopes is None
    # a token of the older format (name only) carries no account: identity.revocation refuses it
    assert tokens.verify(tokens.issue("frank", [])[0]).account is None


@pytest.mark.parametrize(
    "act",
    [
        {"kind": "admin", "id": 1, "gen": 1},
        {"kind": "user", "id": "1", "gen": 1},
        {"kind": "user", "id": 1},
        "user:1:1",
    ],
)
def test_malformed_account_claim_names_no_account(
    key: ec.EllipticCurvePrivateKey, tokens: TokenService, act: object
) -> None:
    raw = {"iss": "moorage", "sub": "a", "aud": "moorage", "exp": 4102444800, "act": act}
    assert tokens.verify(jwt.encode(raw, key, algorithm="ES256")).account is None


def test_lifetime_capped_by_the_credentials_expiry(tokens: TokenService) -> None:
    token, expires_in, issued_at = tokens.issue("a+robot", [], not_after=time.time() + 42)
    assert 40 <= expires_in <= 42
    assert tokens.verify(token).expires_at == issued_at + expires_in
    _, expires_in, _ = tokens.issue("a+robot", [], not_after=time.time() + 86400)
    assert expires_in == 300


def test_anonymous_subject(tokens: TokenService) -> None:
    token, _, _ = tokens.issue("", [])
    assert tokens.verify(token).subject == ""


def test_wrong_key_rejected(tokens: TokenService) -> None:
    other = TokenService(ec.generate_private_key(ec.SECP256R1()), "moorage", 300, 3600)
    token, _, _ = other.issue("admin", [AccessEntry("repository", "x", ("push",))])
    with pytest.raises(InvalidToken):
        tokens.verify(token)


def test_wrong_audience_rejected(key: ec.EllipticCurvePrivateKey, tokens: TokenService) -> None:
    other = TokenService(key, "another-service", 300, 3600)
    token, _, _ = other.issue("admin", [])
    with pytest.raises(InvalidToken):
        tokens.verify(token)


def test_expired_token_rejected(key: ec.EllipticCurvePrivateKey, tokens: TokenService) -> None:
    now = int(time.time())
    token = jwt.encode(
        {"iss": "moorage", "sub": "a", "aud": "moorage", "exp": now - 10, "iat": now - 400, "access": []},
        key,
        algorithm="ES256",
    )
    with pytest.raises(InvalidToken):
        tokens.verify(token)


def test_cached_token_expires(key: ec.EllipticCurvePrivateKey) -> None:
    """A verified (cached) token stops verifying once it expires."""
    short = TokenService(key, "moorage", 1, 3600)
    token, _, _ = short.issue("alice", [])
    assert short.verify(token).subject == "alice"
    assert token in short._cache
    expires_at = short._cache[token].expires_at
    time.sleep(max(0.0, expires_at - time.time()) + 0.05)
    with pytest.raises(InvalidToken):
        short.verify(token)
    assert token not in short._cache


def test_cache_returns_same_claims(tokens: TokenService) -> None:
    token, _, _ = tokens.issue("bob", [AccessEntry("repository", "bob/x", ("pull",))])
    assert tokens.verify(token) is tokens.verify(token)


@pytest.mark.parametrize(
    "claims",
    [
        {"iss": "moorage", "aud": "moorage", "exp": 4102444800},  # no sub
        {"sub": "a", "aud": "moorage", "exp": 4102444800},  # no iss
        {"iss": "other", "sub": "a", "aud": "moorage", "exp": 4102444800},
        {"iss": "moorage", "sub": "a", "aud": "moorage"},  # no exp
    ],
)
def test_missing_or_wrong_claims_rejected(
    key: ec.EllipticCurvePrivateKey, tokens: TokenService, claims: dict[str, object]
) -> None:
    with pytest.raises(InvalidToken):
        tokens.verify(jwt.encode(claims, key, algorithm="ES256"))


@pytest.mark.parametrize("token", ["", "abc", "a.b.c", "eyJhbGciOiJub25lIn0.eyJzdWIiOiJhIn0."])
def test_garbage_tokens_rejected(tokens: TokenService, token: str) -> None:
    with pytest.raises(InvalidToken):
        tokens.verify(token)


def test_alg_none_rejected(tokens: TokenService) -> None:
    forged = jwt.encode(
        {"iss": "moorage", "sub": "admin", "aud": "moorage", "exp": 4102444800, "access": []},
        key="",
        algorithm="none",
    )
    with pytest.raises(InvalidToken):
        tokens.verify(forged)


def test_signing_key_persisted(tmp_path: Path) -> None:
    path = tmp_path / "keys" / "token.pem"
    first = load_or_create_signing_key(path)
    assert path.stat().st_mode & 0o777 == 0o600
    second = load_or_create_signing_key(path)
    assert key_id(first) == key_id(second)
    assert len(key_id(first).split(":")) == 12


def test_signing_key_rejects_other_key_types(tmp_path: Path) -> None:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ed25519

    path = tmp_path / "k.pem"
    path.write_bytes(
        ed25519.Ed25519PrivateKey.generate().private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    with pytest.raises(ValueError, match="EC private key"):
        load_or_create_signing_key(path)


def test_password_hash_and_verify() -> None:
    h = hash_password("correct horse")
    assert h.startswith("$argon2id$")
    assert h != hash_password("correct horse")  # salted
    assert verify_password(h, "correct horse")
    assert not verify_password(h, "wrong horse")
    assert not verify_password(h, "")


@pytest.mark.parametrize("stored", [None, "", "not-a-hash", "$argon2id$garbage"])
def test_password_verify_bad_hashes(stored: str | None) -> None:
    assert not verify_password(stored, "anything")


def test_password_unicode() -> None:
    h = hash_password("pässwörd ✓")
    assert verify_password(h, "pässwörd ✓")
    assert not verify_password(h, "passwort ✓")
