"""The copy engine: each source file is read once, hashed once (in every format asked for) and
written to every destination's part file by one writer thread per destination, so the slowest
device sets the pace. Nothing here gives a file its final name (see settle.py)."""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import queue
import stat
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from pipeline.hashing import MultiHasher
from pipeline.offload.dest import Dest, not_a_plain_entry, part_path
from pipeline.offload.models import CopyOutcome, Failure, FileRecord, FileStatus
from pipeline.offload.scan import SourceFile

_QUEUE_DEPTH = 4  # buffers in flight per consumer: bounded memory, enough to overlap IO
_PART_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0)

Progress = Callable[[int], None]


class SourceError(Exception):
    """The source file could not be read whole; the message says why."""


@dataclass
class Target:
    """One destination's copy of the file being read."""

    dest: Dest | None  # None: a plain copy outside an offload (the archive's), no roll to settle
    final: Path
    part: Path
    fd: int = -1
    error: OSError | None = None


@dataclass
class Pending:
    """A file read, hashed and written (maybe not yet durable), waiting to be verified."""

    src: SourceFile
    rec: FileRecord
    to_write: list[Target]
    existing: list[Target]
    hasher: MultiHasher
    synced: bool
    #: destinations where the file was refused before reading (conflict, dead destination)
    refused: list[CopyOutcome] = field(default_factory=list)


class _Consumer(threading.Thread):
    """Takes buffers from its queue and writes (or hashes) them; None ends the stream."""

    def __init__(self, work: Callable[[bytes], None], finish: Callable[[], None] | None = None):
        super().__init__(daemon=True)
        self.q: queue.Queue[bytes | None] = queue.Queue(maxsize=_QUEUE_DEPTH)
        self.work = work
        self.finish = finish
        self.error: BaseException | None = None

    def run(self) -> None:
        while True:
            buf = self.q.get()
            if buf is None:
                break
            if self.error is None:
                try:
                    self.work(buf)
                except BaseException as exc:  # kept and reported by the caller
                    self.error = exc
        if self.error is None and self.finish is not None:
            try:
                self.finish()
            except BaseException as exc:
                self.error = exc


def _write_all(fd: int, buf: bytes) -> None:
    view = memoryview(buf)
    while view:
        n = os.write(fd, view)
        view = view[n:]


def _size_changed(src: SourceFile, got: int, why: str = "") -> SourceError:
    return SourceError(f"size changed while reading ({src.size} bytes expected, {got} read){why}")


def _copy_small(
    sfd: int, src: SourceFile, targets: list[Target], hasher: MultiHasher, chunk_size: int,
    progress: Progress | None, sync: bool,
) -> None:  # fmt: skip
    """One read, everything inline (threads would cost more than they save)."""
    data = b""
    while True:
        try:
            piece = os.read(sfd, chunk_size + 1 - len(data))
        except OSError as exc:
            raise SourceError(f"read error: {exc.strerror}") from exc
        if not piece:
            break
        data += piece
        if len(data) > src.size:
            break
    if len(data) != src.size:
        raise _size_changed(src, len(data))
    hasher.update(data)
    for t in targets:
        if t.error is None:
            try:
                _write_all(t.fd, data)
                if sync:
                    os.fsync(t.fd)
            except OSError as exc:
                t.error = exc
    if progress:
        progress(len(data))


def _writer(t: Target) -> _Consumer:
    def work(buf: bytes) -> None:
        _write_all(t.fd, buf)

    def finish() -> None:
        os.fsync(t.fd)

    return _Consumer(work, finish)


def _copy_large(
    sfd: int, src: SourceFile, targets: list[Target], hasher: MultiHasher, chunk_size: int,
    progress: Progress | None,
) -> None:  # fmt: skip
    """Read in chunks; one thread hashes, one thread per destination writes and fsyncs."""
    hash_thread = _Consumer(hasher.update)
    writers = [(t, _writer(t)) for t in targets if t.error is None]
    consumers = [hash_thread] + [w for _, w in writers]
    for c in consumers:
        c.start()
    total = 0
    try:
        while True:
            try:
                buf = os.read(sfd, chunk_size)
            except OSError as exc:
                raise SourceError(f"read error after {total} bytes: {exc.strerror}") from exc
            if not buf:
                break
            total += len(buf)
            for c in consumers:
                c.q.put(buf)
            if progress:
                progress(len(buf))
    finally:
        for c in consumers:
            c.q.put(None)
        for c in consumers:
            c.join()
    if total != src.size:
        raise _size_changed(src, total, ": the card was removed or the file is truncated")
    if hash_thread.error is not None:
        raise hash_thread.error
    for t, w in writers:
        if w.error is not None:
            t.error = w.error if isinstance(w.error, OSError) else OSError(str(w.error))


def stream(
    src: SourceFile,
    targets: list[Target],
    hasher: MultiHasher,
    chunk_size: int,
    progress: Progress | None,
    sync: bool = True,
) -> None:
    """Read the source once; hash and write every block to every target. Raises SourceError.

    sync=False leaves small files unsynced: the caller makes a whole batch durable at once.
    """
    try:
        # O_NONBLOCK: a FIFO swapped in for the file since the scan must not hang the offload
        sfd = os.open(src.abs, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError as exc:
        raise SourceError(f"cannot open: {exc.strerror}") from exc
    try:
        if not stat.S_ISREG(os.fstat(sfd).st_mode):
            raise SourceError("no longer a regular file")
        os.set_blocking(sfd, True)
        if src.size <= chunk_size:
            _copy_small(sfd, src, targets, hasher, chunk_size, progress, sync)
        else:
            _copy_large(sfd, src, targets, hasher, chunk_size, progress)
    finally:
        os.close(sfd)


def _target_for(dest: Dest, src: SourceFile) -> Target | CopyOutcome:
    """Where the file goes on `dest`, or the outcome that refuses it there (never raises)."""
    root = dest.result.root

    def refuse(failure: Failure | None, error: str | None) -> CopyOutcome:
        return CopyOutcome(destination=root, status=FileStatus.FAILED, failure=failure, error=error)

    if not dest.alive:
        return refuse(dest.result.failure, dest.result.error)
    why = dest.blocked(src.rel)
    if why is not None:
        return refuse(Failure.CONFLICT, f"{src.rel} not copied: {why}")
    final = dest.roll_dir / src.rel
    t = Target(dest, final, part_path(final))
    try:
        st = final.lstat()
    except FileNotFoundError:
        return t
    except OSError as exc:
        t.error = exc
        return t
    if not stat.S_ISREG(st.st_mode):
        # a copy is a regular file we wrote: a link (even to the card file) is never one
        return refuse(Failure.CONFLICT, not_a_plain_entry(final, st))
    return t


def _open_part(t: Target) -> None:
    """Create the part file fresh: a stale part (killed run) or a link planted there is removed,
    never written through."""
    with contextlib.suppress(FileNotFoundError):
        os.unlink(t.part)
    try:
        t.fd = os.open(t.part, _PART_FLAGS, 0o644)
    except OSError as exc:
        t.error = exc


def begin(
    src: SourceFile,
    dests: list[Dest],
    formats: list[str],
    chunk_size: int,
    progress: Progress | None,
    sync: bool,
) -> Pending:
    """Phase 1: read the source once, hash it, write every part file."""
    rec = FileRecord(
        path=src.rel,
        size=src.size,
        mtime=dt.datetime.fromtimestamp(src.mtime_ns / 1e9, dt.UTC).isoformat(),
    )
    p = Pending(src, rec, [], [], MultiHasher(formats), sync or src.size == 0)
    for dest in dests:
        t = _target_for(dest, src)
        if isinstance(t, CopyOutcome):
            p.refused.append(t)
        elif t.error is None and os.path.lexists(t.final):
            p.existing.append(t)
        else:
            if t.error is None:
                _open_part(t)
            p.to_write.append(t)
    t0 = time.monotonic()
    read_whole = False
    try:
        stream(src, p.to_write, p.hasher, chunk_size, progress, sync=sync)
        read_whole = True
    except SourceError as exc:
        rec.failure = Failure.SOURCE_READ
        rec.error = f"cannot read {src.abs}: {exc}; not copied, nothing written"
    finally:  # also on Ctrl-C: no part is left behind for a file not read whole
        for t in p.to_write:
            if t.fd >= 0:
                with contextlib.suppress(OSError):
                    os.close(t.fd)
                t.fd = -1
            if not read_whole or t.error is not None:
                with contextlib.suppress(OSError):
                    os.unlink(t.part)
    rec.read_s = round(time.monotonic() - t0, 4)
    return p
