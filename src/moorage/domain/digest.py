"""Content digests (``algorithm:hex``) as the OCI image spec defines them."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

from moorage.domain.errors import DigestInvalid

# algorithm-component ::= [a-z0-9]+ ; separators [+._-] ; encoded ::= [a-zA-Z0-9=_-]+
_DIGEST_RE = re.compile(r"^[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$")
_HEX_LENGTHS = {"sha256": 64, "sha512": 128}
SUPPORTED_ALGORITHMS = frozenset(_HEX_LENGTHS)
# what Digest.parse accepts, as one anchored pattern (for the REST API's schema)
DIGEST_PATTERN = "^(?:" + "|".join(f"{a}:[0-9a-f]{{{n}}}" for a, n in sorted(_HEX_LENGTHS.items())) + ")$"


@dataclass(frozen=True, slots=True)
class Digest:
    algorithm: str
    hex: str

    def __str__(self) -> str:
        return f"{self.algorithm}:{self.hex}"

    @staticmethod
    def parse(value: str) -> Digest:
        """Parse and validate a digest string; raise DigestInvalid when it is not a usable digest."""
        if len(value) > 256 or not _DIGEST_RE.fullmatch(value):
            raise DigestInvalid(f"invalid digest {value[:80]!r}")
        algorithm, encoded = value.split(":", 1)
        expected = _HEX_LENGTHS.get(algorithm)
        if expected is None:
            raise DigestInvalid(f"unsupported digest algorithm {algorithm!r}")
        if len(encoded) != expected or not all(c in "0123456789abcdef" for c in encoded):
            raise DigestInvalid(f"invalid {algorithm} digest {value[:80]!r}")
        return Digest(algorithm, encoded)

    def new_hasher(self) -> hashlib._Hash:
        return hashlib.new(self.algorithm)


def is_digest(value: str) -> bool:
    """True when ``value`` looks like a digest (contains ``:``), as opposed to a tag."""
    return ":" in value


def sha256_of(data: bytes) -> Digest:
    return Digest("sha256", hashlib.sha256(data).hexdigest())


def digest_of(data: bytes, algorithm: str = "sha256") -> Digest:
    return Digest(algorithm, hashlib.new(algorithm, data).hexdigest())
