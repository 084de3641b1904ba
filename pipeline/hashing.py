"""Content hashes as ASC MHL v2 writes them: xxh64, xxh3, xxh128, md5, sha1 and c4.

One interface for every format, several formats fed from one read (`MultiHasher`), the string
encodings ASC MHL uses (lowercase hex; C4 ids in base58), and the directory "content" and
"structure" hashes of ASC MHL (the same algorithm as the reference `ascmhl` tool, so our
manifests and theirs agree bit for bit).

Notes on speed: xxhash and hashlib both release the GIL while hashing large buffers, so hashing
in its own thread overlaps with the reader and the writers. xxh128 (XXH3-128, the ASC MHL
default) runs at several GB/s; md5 and sha1 at ~0.5-1 GB/s, so pick them only when a
production asks.
"""

from __future__ import annotations

import binascii
import errno
import hashlib
import os
import stat
from collections.abc import Iterable
from typing import Protocol

import xxhash

from pipeline.errors import UserInputError

#: Every format we write, in the order the ASC MHL XSD wants the elements (alphabetical).
HASH_FORMATS: tuple[str, ...] = ("c4", "md5", "sha1", "xxh128", "xxh3", "xxh64")
DEFAULT_FORMAT = "xxh128"

#: Reads of this size keep the hashers and the disks busy without wasting memory.
CHUNK_SIZE = 8 * 1024 * 1024

_C4_CHARSET = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"


class _Raw(Protocol):
    def update(self, data: bytes, /) -> None: ...
    def hexdigest(self) -> str: ...


_FACTORIES = {
    "md5": hashlib.md5,
    "sha1": hashlib.sha1,
    "xxh64": xxhash.xxh64,
    "xxh3": xxhash.xxh3_64,
    "xxh128": xxhash.xxh3_128,  # ASC MHL's "xxh128" is XXH3-128, as in the reference tool
    "c4": hashlib.sha512,
}


def check_formats(formats: Iterable[str]) -> list[str]:
    """Validate and sort hash format names (XSD order); raises UserInputError on an unknown one."""
    out: list[str] = []
    for f in formats:
        name = f.strip().lower()
        if name not in _FACTORIES:
            raise UserInputError(
                f"unknown hash format {f!r}",
                hint=f"choose among {', '.join(HASH_FORMATS)} (default {DEFAULT_FORMAT})",
            )
        if name not in out:
            out.append(name)
    if not out:
        out = [DEFAULT_FORMAT]
    return sorted(out)


def c4_encode(sha512_digest: bytes) -> str:
    """A C4 id (SMPTE ST 2114): 'c4' + base58 of the SHA-512, padded to 90 characters."""
    value = int.from_bytes(sha512_digest, "big")
    chars: list[str] = []
    while value:
        value, mod = divmod(value, 58)
        chars.append(_C4_CHARSET[mod])
    return "c4" + "".join(reversed(chars)).rjust(88, "1")


def c4_decode(c4: str) -> bytes:
    """The 64 SHA-512 bytes behind a C4 id."""
    value = 0
    for ch in c4[2:]:
        value = value * 58 + _C4_CHARSET.index(ch)
    return value.to_bytes(64, "big")


class Hasher:
    """One running hash in one format, with ASC MHL's string encoding."""

    __slots__ = ("fmt", "_h")

    def __init__(self, fmt: str):
        self.fmt = fmt
        self._h: _Raw = _FACTORIES[fmt]()

    def update(self, data: bytes | memoryview) -> None:
        self._h.update(data)

    def digest_str(self) -> str:
        if self.fmt == "c4":
            return c4_encode(bytes.fromhex(self._h.hexdigest()))
        return self._h.hexdigest()


def digest_bytes(fmt: str, digest: str) -> bytes:
    """The raw bytes of a hash string (hex, or base58 for c4), as directory hashes need."""
    if fmt == "c4":
        return c4_decode(digest)
    return binascii.unhexlify(digest)


def hash_bytes(data: bytes, fmt: str) -> str:
    h = Hasher(fmt)
    h.update(data)
    return h.digest_str()


class MultiHasher:
    """Several formats fed from one read."""

    def __init__(self, formats: Iterable[str]):
        self.hashers = [Hasher(f) for f in formats]

    def update(self, data: bytes | memoryview) -> None:
        for h in self.hashers:
            h.update(data)

    def digests(self) -> dict[str, str]:
        return {h.fmt: h.digest_str() for h in self.hashers}


def evict(fd: int, offset: int = 0, length: int = 0) -> None:
    """Ask the kernel to drop this file's clean pages so the next read comes from the device.

    On Linux POSIX_FADV_DONTNEED drops clean (already written back) pages: call it after fsync.
    Not every file system honours it (some network and FUSE file systems ignore it); there an
    O_DIRECT read would be needed, which Rushline does not do yet (it needs aligned buffers).
    """
    if hasattr(os, "posix_fadvise"):
        try:
            os.posix_fadvise(fd, offset, length, os.POSIX_FADV_DONTNEED)
        except OSError:  # advice only; a file system may refuse it
            pass


def hash_file(
    path: str | os.PathLike[str],
    formats: Iterable[str] = (DEFAULT_FORMAT,),
    *,
    from_device: bool = False,
    chunk_size: int = CHUNK_SIZE,
    follow_symlinks: bool = True,
) -> dict[str, str]:
    """Hash a regular file in every format with one read.

    from_device=True evicts the file's cached pages first so the bytes come from the disk
    (the `full` verification level), not from what we just wrote into memory. Anything but a
    regular file (a FIFO would block forever, a folder cannot be read) raises OSError.
    """
    mh = MultiHasher(formats)
    nofollow = 0 if follow_symlinks else os.O_NOFOLLOW
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | nofollow)
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            code = errno.EISDIR if stat.S_ISDIR(mode) else errno.EINVAL
            raise OSError(code, "not a regular file", os.fspath(path))
        os.set_blocking(fd, True)
        if from_device:
            evict(fd)
        # a buffer no larger than the file: zero-filling 8 MiB per small file costs ~1 ms
        size = os.fstat(fd).st_size
        buf = bytearray(max(4096, min(chunk_size, size + 1)))
        view = memoryview(buf)
        while True:
            n = os.readv(fd, [buf])
            if n == 0:
                break
            mh.update(view[:n])
        if from_device:
            evict(fd)  # do not leave gigabytes of verification reads in the page cache
    finally:
        os.close(fd)
    return mh.digests()


def hash_of_hash_list(fmt: str, digests: list[str]) -> str:
    """Hash of the sorted raw bytes of several hashes (ASC MHL directory hashes)."""
    h = Hasher(fmt)
    for d in sorted(digests):
        h.update(digest_bytes(fmt, d))
    return h.digest_str()


class DirectoryHash:
    """ASC MHL "content" and "structure" hashes of one directory, built from its children.

    content = hash of the sorted child content hashes; structure = hash of the sorted
    hash(name + child hash) values, so a rename changes the structure hash only.
    """

    def __init__(self, fmt: str):
        self.fmt = fmt
        self._content: list[str] = []
        self._structure: list[str] = []

    def add_file(self, name: str, content_hash: str) -> None:
        self._content.append(content_hash)
        self._structure.append(
            hash_bytes(name.encode("utf-8") + digest_bytes(self.fmt, content_hash), self.fmt)
        )

    def add_directory(self, name: str, content_hash: str, structure_hash: str) -> None:
        self._content.append(content_hash)
        self._structure.append(
            hash_bytes(name.encode("utf-8") + digest_bytes(self.fmt, structure_hash), self.fmt)
        )

    def content(self) -> str:
        return hash_of_hash_list(self.fmt, self._content)

    def structure(self) -> str:
        return hash_of_hash_list(self.fmt, self._structure)
