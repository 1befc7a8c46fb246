"""A SHA-256 whose running state can be saved beside an upload and resumed in another process.

``hashlib`` objects cannot be serialized. The PyPI package ``rehash`` (picklable hashlib) copies
OpenSSL's private structures and refuses OpenSSL 3 (``NotImplementedError``), which is what Python
3.11 uses here. ``rehashes`` (Rust) works but holds the GIL while it hashes, which would stall the
event loop for ~2 ms per MiB received. So this module drives OpenSSL's public low-level SHA-256 API
(``SHA256_Init``/``SHA256_Update``/``SHA256_Final`` on a caller-owned ``SHA256_CTX``, the struct of
``openssl/sha.h``, unchanged from 1.0 through 3.x) through ctypes, which releases the GIL during
each call, at OpenSSL speed (SHA-NI where the CPU has it). The state is written in a portable form
(chaining words, bit count, partial block), checked when read back.

When libcrypto or those functions are missing, :func:`resumable_available` is False and callers
fall back to hashing the stored bytes at completion (correct, only slower).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import struct
from typing import Any

_CTX_SIZE = 112  # 8 chaining words, Nl, Nh, 16 data words, num, md_len: 28 x 4 bytes
_NATIVE = struct.Struct("=8I2I64s2I")
_PORTABLE = struct.Struct(">8I2I64s2I")
_PREFIX = "sha256-v1:"


@functools.cache
def _libcrypto() -> Any | None:
    name = ctypes.util.find_library("crypto")
    if name is None:
        return None
    try:
        lib = ctypes.CDLL(name)
        for fn in ("SHA256_Init", "SHA256_Update", "SHA256_Final"):
            getattr(lib, fn)
    except (OSError, AttributeError):
        return None
    lib.SHA256_Init.argtypes = [ctypes.c_void_p]
    lib.SHA256_Init.restype = ctypes.c_int
    lib.SHA256_Update.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_size_t]
    lib.SHA256_Update.restype = ctypes.c_int
    lib.SHA256_Final.argtypes = [ctypes.c_void_p, ctypes.c_void_p]
    lib.SHA256_Final.restype = ctypes.c_int
    if _NATIVE.size != _CTX_SIZE:
        return None
    return lib


def resumable_available() -> bool:
    """Whether :class:`ResumableSha256` works on this machine."""
    return _libcrypto() is not None


class StateInvalid(ValueError):
    """A saved hash state that cannot be resumed (corrupt, or from an incompatible writer)."""


class ResumableSha256:
    """SHA-256 with ``update``/``hexdigest`` like hashlib, plus :meth:`state` and :meth:`resume`."""

    __slots__ = ("_ctx", "_lib")

    def __init__(self) -> None:
        lib = _libcrypto()
        if lib is None:
            raise RuntimeError("libcrypto's SHA256_* functions are not available")
        self._lib = lib
        self._ctx = ctypes.create_string_buffer(_CTX_SIZE)
        if lib.SHA256_Init(self._ctx) != 1:
            raise RuntimeError("SHA256_Init failed")

    @property
    def length(self) -> int:
        """Bytes hashed so far."""
        fields = _NATIVE.unpack(self._ctx.raw)
        nl, nh = int(fields[8]), int(fields[9])
        return ((nh << 32) | nl) // 8

    def update(self, data: bytes | bytearray | memoryview, /) -> None:
        view = memoryview(data).cast("B")
        n = view.nbytes
        if n == 0:
            return
        if view.readonly:
            ok = self._lib.SHA256_Update(self._ctx, bytes(view) if not isinstance(data, bytes) else data, n)
        else:
            ok = self._lib.SHA256_Update(self._ctx, (ctypes.c_char * n).from_buffer(view), n)
        if ok != 1:
            raise RuntimeError("SHA256_Update failed")

    def hexdigest(self) -> str:
        """The digest of the bytes so far (the running state is left as it is)."""
        ctx = ctypes.create_string_buffer(self._ctx.raw, _CTX_SIZE)
        out = ctypes.create_string_buffer(32)
        if self._lib.SHA256_Final(out, ctx) != 1:
            raise RuntimeError("SHA256_Final failed")
        return out.raw.hex()

    def state(self) -> str:
        """The running state as portable text (hex of big-endian fields)."""
        return _PREFIX + _PORTABLE.pack(*_NATIVE.unpack(self._ctx.raw)).hex()

    @classmethod
    def resume(cls, state: str) -> ResumableSha256:
        """A hasher continuing from :meth:`state`; :class:`StateInvalid` when it cannot be used."""
        if not state.startswith(_PREFIX):
            raise StateInvalid("not a saved SHA-256 state")
        try:
            fields = _PORTABLE.unpack(bytes.fromhex(state[len(_PREFIX) :]))
        except (ValueError, struct.error):
            raise StateInvalid("malformed SHA-256 state") from None
        num, md_len = fields[11], fields[12]
        nl = fields[8]
        if md_len != 32 or num >= 64 or num != (nl // 8) % 64:
            raise StateInvalid("inconsistent SHA-256 state")
        hasher = cls()
        ctypes.memmove(hasher._ctx, _NATIVE.pack(*fields), _CTX_SIZE)
        return hasher
