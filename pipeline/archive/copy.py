"""Verified file copies for the archive: read once (hashing as we go), write to a temporary
name, fsync, read the copy back from the device, compare, then give it its final name.

The copy itself is the offload engine's (`pipeline.offload.engine.stream`): one read of the
source in 8 MiB chunks, one thread hashing, one thread writing and fsyncing, the source opened
read-only, refused if it is not a regular file, and checked for a size change while read. The
read-back is the offload settle step's (`pipeline.hashing.hash_file(from_device=True)`: cached
pages dropped with fadvise(DONTNEED) after the fsync, the copy read from the device, hashed
with xxh128 and compared with the xxh128 of the bytes read from the source).

`copy_all` overlaps the two halves: while file N is read back and named, file N+1 is read,
hashed and written; at most one file waits for its read-back, so a failure stops the run after
at most one more file. Archive and restore share it. The source is never written; the
destination is never overwritten (a file already at the final name is an error).
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import os
import secrets
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from pipeline.archive.errors import ArchiveError
from pipeline.exitcodes import ArchiveExit
from pipeline.fsutil import fsync_dir
from pipeline.hashing import CHUNK_SIZE, Hasher, MultiHasher, evict, hash_file
from pipeline.names import printable

CHUNK = CHUNK_SIZE

#: the read-back check: a copy is compared with what was read from the source by xxh128, which
#: costs a tenth of a SHA-256 pass (the manifest digests are computed once, from the source)
READBACK = "xxh128"

#: read back file N while file N+1 is copied (a gain on SSDs and virtual disks; on a tape or a
#: single hard disk the head then goes to and fro between the two files: set False there)
OVERLAP = True
#: start each copy's writeback while it is written, not all at its fsync (_WriteBehind)
EARLY = True


@dataclass
class Copied:
    size: int
    digests: dict[str, str]  # algorithm -> hex, of the bytes read from the source


@dataclass
class _Part:
    """A copy written and fsynced under its temporary name, not yet read back."""

    src: Path
    dest: Path
    tmp: Path
    size: int
    digests: dict[str, str]  # the manifest algorithms and READBACK


class _BagItHash(Hasher):
    """A BagIt manifest algorithm (sha256, sha512) behind the offload engine's hasher API."""

    __slots__ = ()

    def __init__(self, alg: str) -> None:
        self.fmt = alg
        self._h = hashlib.new(alg)


def _hasher(algorithms: Sequence[str]) -> MultiHasher:
    """Every manifest algorithm plus the read-back hash, fed from one read."""
    mh = MultiHasher([READBACK])
    mh.hashers[:0] = [_BagItHash(a) for a in algorithms if a != READBACK]
    return mh


def _temp_beside(dest: Path) -> tuple[int, Path]:
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0)
    for _ in range(100):
        tmp = dest.parent / f".{dest.name[:200]}.{secrets.token_hex(4)}.part"
        try:
            return os.open(tmp, flags, 0o644), tmp
        except FileExistsError:
            continue
    raise FileExistsError(errno.EEXIST, "no free temporary name", str(dest.parent))


def hash_path(path: str | os.PathLike[str], algorithms: tuple[str, ...]) -> dict[str, str]:
    """Every digest of a file with one read, from the device (its cached pages dropped)."""
    hs = [hashlib.new(a) for a in algorithms]
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


def _refuse_existing(dest: Path) -> None:
    if os.path.lexists(dest):
        raise ArchiveError(
            f"{printable(str(dest))} exists already; not overwriting it",
            exit_code=ArchiveExit.CONFLICT,
            path=dest,
            hint="move it away or choose another destination",
        )


class _WriteBehind:
    """Start the writeback of a copy while it is being written, so the disk works during the
    copy rather than all at the final fsync (and dirty memory stays small on big clips).

    The engine calls progress() once per chunk read and queued for its writer thread, which
    usually keeps up (writing to the page cache is faster than hashing); fadvise(DONTNEED) on
    the range written up to _LAG chunks ago starts the writeback of those pages without
    waiting (WB_SYNC_NONE) and drops those already clean. Advice only: pages not written yet
    are left alone (the final fsync flushes them), so a late writer loses the gain, nothing
    else."""

    _LAG = 2

    def __init__(self, fd: int) -> None:
        self.fd = fd
        self.read = 0
        self.done = 0  # start of the range not yet advised

    def __call__(self, n: int) -> None:
        self.read += n
        upto = self.read - self._LAG * CHUNK
        if upto > self.done:
            evict(self.fd, self.done, upto - self.done)
            self.done = upto


def _write(src: Path, dest: Path, algorithms: tuple[str, ...]) -> _Part:
    """Read `src` once (hashed), write it to a temporary name beside `dest`, fsync it."""
    from pipeline.offload.engine import SourceError, Target, stream
    from pipeline.offload.scan import SourceFile

    dest.parent.mkdir(parents=True, exist_ok=True)
    _refuse_existing(dest)
    st = os.stat(src, follow_symlinks=False)
    fd, tmp = _temp_beside(dest)
    mh = _hasher(algorithms)
    # the engine's Target only needs fd/error for writing; `dest` is its offload bookkeeping
    target = Target(None, dest, tmp, fd)
    try:
        try:
            source = SourceFile(src.name, str(src), st.st_size, st.st_mtime_ns)
            stream(source, [target], mh, CHUNK, _WriteBehind(fd) if EARLY else None)
        finally:
            os.close(fd)
        if target.error is not None:
            raise target.error  # ENOSPC, EIO...: the caller reports it
    except SourceError as exc:
        _drop(tmp)
        raise ArchiveError(
            f"{printable(str(src))}: cannot read it whole ({exc}); nothing was named",
            exit_code=ArchiveExit.MISMATCH,
            path=src,
            hint="check the source (was it being written?) and run the command again",
        ) from exc
    except BaseException:
        _drop(tmp)
        raise
    return _Part(src, dest, tmp, st.st_size, mh.digests())


def _settle(part: _Part) -> None:
    """Read the copy back from the device, compare, then give it its final name."""
    from pipeline.offload.settle import link_into_place

    try:
        again = hash_file(part.tmp, [READBACK], from_device=True, follow_symlinks=False)
        want = part.digests[READBACK]
        if again[READBACK] != want:
            raise _mismatch(
                part.src, f"the copy reads back as {READBACK} {again[READBACK]}, read as {want}"
            )
        try:
            link_into_place(part.tmp, part.dest)  # never replaces a file there
        except FileExistsError:
            _refuse_existing(part.dest)
            raise
    except BaseException:
        _drop(part.tmp)
        raise
    keep_mtime(part.src, part.dest)


def _drop(tmp: Path) -> None:
    with contextlib.suppress(FileNotFoundError):
        os.unlink(tmp)


def _check_expected(part: _Part, expect: dict[str, str] | None) -> None:
    for alg, want in (expect or {}).items():
        if part.digests.get(alg, want) != want:
            raise _mismatch(part.src, f"{alg} {part.digests[alg]} read, manifest says {want}")


def _copied(part: _Part) -> Copied:
    return Copied(part.size, {a: d for a, d in part.digests.items() if a != READBACK})


def copy_verified(
    src: Path, dest: Path, algorithms: tuple[str, ...], expect: dict[str, str] | None = None
) -> Copied:
    """Copy `src` to `dest` (temp + fsync + rename) and prove the copy by re-reading it.

    `expect` (restore) are digests the source must have: a difference is reported before the
    copy gets its final name. Raises ArchiveError(MISMATCH) or OSError (ENOSPC...)."""
    return copy_all([(src, dest)], algorithms, [expect] if expect else None)[0]


def copy_all(
    jobs: Sequence[tuple[Path, Path]],
    algorithms: tuple[str, ...],
    expects: Sequence[dict[str, str] | None] | None = None,
    done: Callable[[int], None] | None = None,
) -> list[Copied]:
    """copy_verified for every (src, dest), the read-back of one file overlapping the copy of
    the next. `done(i)` is called once job i is verified and named. On any error, the file in
    flight is finished or removed before the error is raised: no temporary is left behind."""
    out: list[Copied] = []
    loose: _Part | None = None  # written, not yet handed to the read-back thread
    waiting: tuple[int, _Part, Future[None]] | None = None
    with ThreadPoolExecutor(1, thread_name_prefix="archive-readback") as pool:
        try:
            for i, (src, dest) in enumerate(jobs):
                loose = _write(src, dest, algorithms)
                _check_expected(loose, expects[i] if expects else None)
                if waiting is not None:
                    previous, waiting = waiting, None
                    _finish(previous, done)
                waiting = (i, loose, pool.submit(_settle, loose))
                if not OVERLAP:
                    previous, waiting = waiting, None
                    _finish(previous, done)
                out.append(_copied(loose))
                loose = None
            if waiting is not None:
                previous, waiting = waiting, None
                _finish(previous, done)
        except BaseException:
            if loose is not None:
                _drop(loose.tmp)
            if waiting is not None:
                with contextlib.suppress(BaseException):
                    waiting[2].result()  # _settle removes its own temporary on failure
            raise
    return out


def _finish(waiting: tuple[int, _Part, Future[None]], done: Callable[[int], None] | None) -> None:
    waiting[2].result()
    if done:
        done(waiting[0])


def _mismatch(src: Path, detail: str) -> ArchiveError:
    return ArchiveError(
        f"{printable(str(src))}: copy does not match ({detail})",
        exit_code=ArchiveExit.MISMATCH,
        path=src,
        hint="check the source and the destination drive, then run the command again",
    )


def keep_mtime(src: Path, dest: Path) -> None:
    """Keep the modification time (what an editor sorts by); permissions are our own."""
    with contextlib.suppress(OSError):
        st = os.stat(src, follow_symlinks=False)
        os.utime(dest, ns=(st.st_atime_ns, st.st_mtime_ns), follow_symlinks=False)


def sync_tree(root: Path) -> None:
    """fsync every folder under root (bottom up) so the renames inside them are durable."""
    for dirpath, _dirs, _files in os.walk(root, topdown=False):
        fsync_dir(dirpath)
