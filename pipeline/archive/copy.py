"""One verified file copy for the archive: read once (hashing as we go), write to a temporary
name, fsync, rename, then read the copy back from the device and compare.

Archive and restore share it. The source is opened read-only and never written; the
destination is never overwritten (a file already at the final name is an error).
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import os
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import xxhash

from pipeline.archive.errors import ArchiveError
from pipeline.exitcodes import ArchiveExit
from pipeline.fsutil import fsync_dir
from pipeline.hashing import evict
from pipeline.names import printable

CHUNK = 8 * 1024 * 1024


@dataclass
class Copied:
    size: int
    digests: dict[str, str]  # algorithm -> hex, of the bytes read from the source


#: the read-back check: a copy is compared with what was read from the source by xxh128, which
#: costs a tenth of a SHA-256 pass (the manifest digests are computed once, from the source)
READBACK = "xxh128"


def _hashers(algorithms: tuple[str, ...]) -> list[Any]:
    return [xxhash.xxh3_128() if a == READBACK else hashlib.new(a) for a in algorithms]


def _temp_beside(dest: Path) -> tuple[int, Path]:
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0)
    for _ in range(100):
        tmp = dest.parent / f".{dest.name[:200]}.{secrets.token_hex(4)}.part"
        try:
            return os.open(tmp, flags, 0o644), tmp
        except FileExistsError:
            continue
    raise FileExistsError(errno.EEXIST, "no free temporary name", str(dest.parent))


def hash_path(path: str | os.PathLike[str], algorithms: tuple[str, ...]) -> dict[str, str]:
    """Every digest of a file with one read, from the device (its cached pages dropped)."""
    hs = _hashers(algorithms)
    buf = bytearray(CHUNK)
    view = memoryview(buf)
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
    try:
        evict(fd)
        while n := os.readv(fd, [buf]):
            for h in hs:
                h.update(view[:n])
        evict(fd)
    finally:
        os.close(fd)
    return {a: h.hexdigest() for a, h in zip(algorithms, hs, strict=True)}


def _stream(src: Path, out_fd: int, algorithms: tuple[str, ...]) -> Copied:
    hs = _hashers(algorithms)
    buf = bytearray(CHUNK)
    view = memoryview(buf)
    size = 0
    in_fd = os.open(src, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0) | os.O_NOFOLLOW)
    try:
        while n := os.readv(in_fd, [buf]):
            for h in hs:
                h.update(view[:n])
            done = 0
            while done < n:
                done += os.write(out_fd, view[done:n])
            size += n
    finally:
        os.close(in_fd)
    return Copied(size, {a: h.hexdigest() for a, h in zip(algorithms, hs, strict=True)})


def copy_verified(
    src: Path, dest: Path, algorithms: tuple[str, ...], expect: dict[str, str] | None = None
) -> Copied:
    """Copy `src` to `dest` (temp + fsync + rename) and prove the copy by re-reading it.

    `expect` (restore) are digests the source must have: a difference is reported before the
    copy gets its final name. Raises ArchiveError(MISMATCH) or OSError (ENOSPC...)."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    if os.path.lexists(dest):
        raise ArchiveError(
            f"{printable(str(dest))} exists already; not overwriting it",
            exit_code=ArchiveExit.CONFLICT,
            path=dest,
            hint="move it away or choose another destination",
        )
    fd, tmp = _temp_beside(dest)
    try:
        try:
            copied = _stream(src, fd, (*algorithms, READBACK))
            os.fsync(fd)
        finally:
            os.close(fd)
        for alg, want in (expect or {}).items():
            if copied.digests.get(alg, want) != want:
                raise _mismatch(src, f"{alg} {copied.digests[alg]} read, manifest says {want}")
        _check_readback(src, tmp, copied.digests.pop(READBACK))
        os.link(tmp, dest)  # fails if dest appeared meanwhile: never overwrite
        os.unlink(tmp)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    shutil_copystat(src, dest)
    return copied


def _check_readback(src: Path, tmp: Path, want: str) -> None:
    again = hash_path(tmp, (READBACK,))[READBACK]
    if again != want:
        raise _mismatch(
            src, f"the copy reads back as {READBACK} {again}, the source read as {want}"
        )


def _mismatch(src: Path, detail: str) -> ArchiveError:
    return ArchiveError(
        f"{printable(str(src))}: copy does not match ({detail})",
        exit_code=ArchiveExit.MISMATCH,
        path=src,
        hint="check the source and the destination drive, then run the command again",
    )


def shutil_copystat(src: Path, dest: Path) -> None:
    """Keep the modification time (what an editor sorts by); permissions are our own."""
    with contextlib.suppress(OSError):
        st = os.stat(src, follow_symlinks=False)
        os.utime(dest, ns=(st.st_atime_ns, st.st_mtime_ns))


def sync_tree(root: Path) -> None:
    """fsync every folder under root (bottom up) so the renames inside them are durable."""
    for dirpath, _dirs, _files in os.walk(root, topdown=False):
        fsync_dir(dirpath)
