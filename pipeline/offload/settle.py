"""Settle-verify: once part files are durable, re-read them (and the card, at `source` level),
compare with the hash of the one read, and give each verified part its final name. A file under
its final name is always complete and verified."""

from __future__ import annotations

import contextlib
import errno
import os
import stat
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from pipeline.hashing import hash_file
from pipeline.offload.dest import Dest, classify_write_error
from pipeline.offload.engine import Pending, Target
from pipeline.offload.models import CopyOutcome, Failure, FileRecord, FileStatus, VerifyLevel

#: Files up to this size are written in batches made durable with one syncfs per destination
#: (one journal commit instead of one per file) and verified inline.
SMALL_FILE = 1024 * 1024


class _Mismatch(Exception):
    pass


def _drop(part: Path) -> None:
    with contextlib.suppress(OSError):
        os.unlink(part)


def link_into_place(part: Path, final: Path) -> None:
    """Give the verified part its final name, never replacing an existing file."""
    try:
        os.link(part, final)  # atomic "create if absent"
    except FileExistsError:
        raise
    except OSError:
        # file systems without hard links (exFAT, some NAS): we hold the roll lock, so a
        # check-then-rename is safe against other Rushline runs
        if os.path.lexists(final):
            raise FileExistsError(errno.EEXIST, "exists", str(final)) from None
        os.rename(part, final)
        return
    os.unlink(part)


def _reread(path: str, primary: str, follow: bool) -> str | OSError:
    try:
        return hash_file(path, [primary], from_device=True, follow_symlinks=follow)[primary]
    except OSError as exc:
        return exc


def _existing_size(t: Target) -> int | None:
    try:
        st = t.final.lstat()
    except OSError:
        return None
    return st.st_size if stat.S_ISREG(st.st_mode) else None


def _reread_all(
    p: Pending, primary: str, level: VerifyLevel, pool: ThreadPoolExecutor
) -> tuple[dict[int, str | OSError | None], str | OSError | None]:
    """Re-read every copy (and the card at `source` level); runs in parallel for big files,
    each destination being its own device. Returns ({id(target): hash}, source re-read)."""
    jobs: list[tuple[Target | None, str, bool]] = []
    if level == VerifyLevel.SOURCE:
        jobs.append((None, p.src.abs, False))
    for t in p.to_write:
        if t.error is None and level != VerifyLevel.SIZE:
            jobs.append((t, str(t.part), False))
    for t in p.existing:
        if _existing_size(t) == p.src.size:  # a different size is a conflict: no need to read
            jobs.append((t, str(t.final), False))

    def run(job: tuple[Target | None, str, bool]) -> str | OSError:
        return _reread(job[1], primary, job[2])

    values = [run(j) for j in jobs] if p.src.size <= SMALL_FILE else list(pool.map(run, jobs))
    got: dict[int, str | OSError | None] = {}
    source: str | OSError | None = None
    for (t, _, _), value in zip(jobs, values, strict=True):
        if t is None:
            source = value
        else:
            got[id(t)] = value
    return got, source


def _source_mismatch(p: Pending, primary: str, want: str, reread: str | OSError) -> None:
    """The card gave other bytes on the second read: nothing is renamed anywhere."""
    what = (
        reread.strerror
        if isinstance(reread, OSError)
        else f"{primary} {reread} on the second read vs {want} on the first"
    )
    p.rec.failure = Failure.MISMATCH
    p.rec.error = (
        f"the card returned different bytes reading {p.src.abs} twice ({what}): "
        "flaky reader or card; nothing renamed, try another reader"
    )
    for t in p.to_write:
        _drop(t.part)
        p.rec.outcomes.append(
            CopyOutcome(
                destination=t.dest.result.root,
                status=FileStatus.FAILED,
                failure=Failure.MISMATCH,
                error=p.rec.error,
            )
        )


def _check_copy(t: Target, p: Pending, level: VerifyLevel, primary: str, got: object) -> None:
    """Raise unless the part is a verified copy of the source."""
    size = p.src.size
    if level == VerifyLevel.SIZE:
        if os.path.getsize(t.part) != size:
            raise _Mismatch(f"size {os.path.getsize(t.part)} vs {size}")
        return
    if isinstance(got, OSError):
        raise got
    want = p.rec.hashes[primary]
    if got != want:
        raise _Mismatch(f"{primary} {got} re-read from the copy vs {want} from the card")


def _settle_copy(t: Target, p: Pending, level: VerifyLevel, primary: str, got: object) -> None:
    rel = p.src.rel
    out = CopyOutcome(destination=t.dest.result.root, status=FileStatus.FAILED)
    p.rec.outcomes.append(out)
    try:
        if t.error is not None:
            raise t.error
        _check_copy(t, p, level, primary, got)
        os.utime(t.part, ns=(p.src.mtime_ns, p.src.mtime_ns))
        link_into_place(t.part, t.final)
    except _Mismatch as exc:
        out.failure = Failure.MISMATCH
        out.error = f"copy of {rel} on {t.dest.result.root} does not verify: {exc}"
    except FileExistsError:
        out.failure = Failure.CONFLICT
        out.error = f"{t.final} appeared during the copy; not overwritten"
    except OSError as exc:
        out.failure, out.error = classify_write_error(t.dest, exc)
        out.error = f"{out.error} while copying {rel}"
        if out.failure == Failure.DEST_GONE or exc is t.error:
            t.dest.die(out.failure, out.error)
    else:
        out.status = FileStatus.COPIED
        out.verified = level.value
        t.dest.result.bytes_written += p.src.size
        t.dest.touched_dirs.add(str(t.final.parent))
        return
    _drop(t.part)


def _settle_existing(t: Target, p: Pending, primary: str, got: object) -> None:
    out = CopyOutcome(destination=t.dest.result.root, status=FileStatus.FAILED)
    p.rec.outcomes.append(out)
    want = p.rec.hashes[primary]
    if isinstance(got, OSError):
        out.failure, out.error = classify_write_error(t.dest, got)
        out.error = f"{out.error} while verifying {t.final}"
    elif got == want:
        out.status = FileStatus.IDENTICAL
        out.verified = VerifyLevel.FULL.value
    else:
        out.failure = Failure.CONFLICT
        out.error = (
            f"{t.final} already exists with different content "
            f"({'different size' if got is None else primary + ' ' + got}); not overwritten"
        )


def settle(p: Pending, primary: str, level: VerifyLevel, pool: ThreadPoolExecutor) -> FileRecord:
    """Phase 2 (once the parts are durable): verify, give verified parts their final name."""
    rec = p.rec
    rec.outcomes.extend(p.refused)
    if rec.failure is not None:  # the card could not be read: nothing was written anywhere
        return rec
    rec.hashes = p.hasher.digests()
    got, source = _reread_all(p, primary, level, pool)
    if source is not None and source != rec.hashes[primary]:
        _source_mismatch(p, primary, rec.hashes[primary], source)
        return rec
    for t in p.to_write:
        _settle_copy(t, p, level, primary, got.get(id(t)))
    for t in p.existing:
        _settle_existing(t, p, primary, got.get(id(t)))
    return rec


def _syncfs(path: Path) -> bool:
    """syncfs(2) on the file system holding `path`: every dirty page of it, one journal commit."""
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        fd = os.open(path, os.O_RDONLY)
        try:
            return libc.syncfs(fd) == 0
        finally:
            os.close(fd)
    except (OSError, AttributeError):
        return False


def make_durable(batch: list[Pending], dests: list[Dest]) -> None:
    """Flush the parts of a batch of small files: one syncfs per destination, or one fsync per
    part where syncfs is unavailable or fails (the per-file fsync then reports the error)."""
    unsynced = [p for p in batch if not p.synced and p.rec.failure is None]
    if not unsynced:
        return
    for dest in dests:
        targets = [t for p in unsynced for t in p.to_write if t.dest is dest and t.error is None]
        if not targets or _syncfs(dest.roll_dir):
            continue
        for t in targets:
            try:
                fd = os.open(t.part, os.O_RDONLY)
                try:
                    os.fsync(fd)
                finally:
                    os.close(fd)
            except OSError as exc:
                t.error = exc
    for p in unsynced:
        p.synced = True
