"""Secrets at rest: random tokens, their lookup hashes, and AES-GCM encryption for tokens that an
administrator may reveal again (robot tokens, as in Quay).

The encryption key is 32 random bytes kept in ``<data_dir>/keys/secret.key`` (mode 0600), or given
as ``secret_key`` in the configuration (base64) so that several nodes share it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets
import string
from pathlib import Path

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

_ALPHABET = string.ascii_uppercase + string.digits


def new_token(length: int = 64) -> str:
    """A random token of upper-case letters and digits (robot tokens are 64 of them, as in Quay)."""
    return "".join(secrets.choice(_ALPHABET) for _ in range(length))


def token_hash(token: str) -> str:
    """SHA-256 of a high-entropy token: enough for lookup, since tokens are never guessable."""
    return hashlib.sha256(token.encode()).hexdigest()


def same_hash(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())


def load_or_create_key(path: Path) -> bytes:
    if path.exists():
        key = path.read_bytes()
        if len(key) != 32:
            raise ValueError(f"{path} must hold 32 bytes")
        return key
    path.parent.mkdir(parents=True, exist_ok=True)
    key = os.urandom(32)
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(key)
        f.flush()
        os.fsync(f.fileno())
    try:
        os.link(tmp, path)
    except FileExistsError:
        tmp.unlink()
        return load_or_create_key(path)
    tmp.unlink()
    return key


class SecretBox:
    """AES-256-GCM with a random 96-bit nonce per message."""

    def __init__(self, key: bytes) -> None:
        self._aead = AESGCM(key)

    @classmethod
    def from_base64(cls, value: str) -> SecretBox:
        return cls(base64.b64decode(value))

    def encrypt(self, plaintext: str, context: str) -> bytes:
        nonce = os.urandom(12)
        return nonce + self._aead.encrypt(nonce, plaintext.encode(), context.encode())

    def decrypt(self, blob: bytes, context: str) -> str:
        return self._aead.decrypt(blob[:12], blob[12:], context.encode()).decode()
