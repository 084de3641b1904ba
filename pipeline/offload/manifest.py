"""The ASC MHL side of an offload: the card's own history checked file by file, the entries of
every good copy collected, and each destination's new generation written at the end."""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import shutil
from collections.abc import Sequence
from pathlib import Path

from pipeline import mhl
from pipeline.fsutil import fsync_dir
from pipeline.names import nfc
from pipeline.offload.dest import Dest, classify_write_error
from pipeline.offload.models import (
    PART_SUFFIX,
    STATE_DIR,
    Failure,
    FileRecord,
    FileStatus,
    OffloadResult,
)
from pipeline.offload.scan import Scan, SourceFile

#: {NFC path: (entry, its first "original" hash)} from the card's own history
Originals = dict[str, tuple[mhl.FileEntry, mhl.HashRecord]]


def check_against_history(rec: FileRecord, originals: Originals) -> None:
    """Compare a file read from the card with the card's own ASC MHL history."""
    if not originals or rec.failure is not None:
        return
    orig = originals.get(nfc(rec.path))
    if orig is None:
        rec.history = "new"
    elif rec.hashes.get(orig[1].fmt) == orig[1].value:
        rec.history = "matched"
    else:
        rec.history = "mismatch"
        rec.failure = Failure.SOURCE_HISTORY
        rec.error = (
            f"differs from the card's ASC MHL history ({orig[1].fmt} "
            f"{orig[1].value} recorded, {rec.hashes.get(orig[1].fmt)} now)"
        )


def record_entries(rec: FileRecord, src: SourceFile, dests: list[Dest]) -> None:
    """Remember the manifest entry of each good copy for its destination's new generation."""
    if not rec.hashes:
        return
    now = dt.datetime.now(dt.UTC)
    by_root = {d.result.root: d for d in dests}
    for out in rec.outcomes:
        dest = by_root[out.destination]
        if out.status == FileStatus.FAILED:
            dest.result.files_failed += 1
            continue
        if out.status == FileStatus.COPIED:
            dest.result.files_copied += 1
        else:
            dest.result.files_identical += 1
        known = dest.known.get(nfc(src.rel), {})
        records = []
        for fmt, value in rec.hashes.items():
            prior = known.get(fmt)
            action = "original" if prior is None else "verified" if prior == value else "failed"
            records.append(mhl.HashRecord(fmt, value, action, now))
        dest.entries.append(
            mhl.FileEntry(
                path=src.rel,
                size=src.size,
                mtime=dt.datetime.fromtimestamp(src.mtime_ns / 1e9, dt.UTC),
                hashes=records,
            )
        )


def _sweep_parts(roll_dir: Path) -> None:
    for dirpath, _dirs, names in os.walk(roll_dir):
        for n in names:
            if n.endswith(PART_SUFFIX):
                with contextlib.suppress(OSError):
                    os.unlink(os.path.join(dirpath, n))


def _manifests(roll_dir: Path) -> set[str]:
    try:
        return {p.name for p in (roll_dir / mhl.MHL_FOLDER).glob("*.mhl")}
    except OSError:
        return set()


def _write_generation(
    dest: Dest, result: OffloadResult, scan: Scan, formats: list[str],
    ignore: Sequence[str], comment: str | None,
) -> Path:  # fmt: skip
    """One new generation; a manifest left without its chain entry (the disk filled between
    the two writes) is removed, so the history never holds half a generation."""
    before = _manifests(dest.roll_dir)
    try:
        return mhl.write_generation(
            dest.roll_dir,
            dest.entries,
            dirs=scan.dirs,
            dir_mtimes=scan.dir_mtimes,
            formats=formats,
            process="transfer",
            ignore=[*ignore, STATE_DIR, f"{STATE_DIR}/", f".*{PART_SUFFIX}"],
            comment=comment
            or f"Rushline offload of {result.source} ({result.verify.value} verification)",
        )
    except BaseException:
        for name in _manifests(dest.roll_dir) - before:
            with contextlib.suppress(OSError):
                os.unlink(dest.roll_dir / mhl.MHL_FOLDER / name)
        raise


def finish_destination(
    dest: Dest,
    result: OffloadResult,
    scan: Scan,
    formats: list[str],
    ignore: Sequence[str],
    comment: str | None,
) -> None:
    """Make the renames durable, sweep stale parts, write the generation (even after a failure,
    for the files that did make it: the history must tell the truth)."""
    if dest.lock_fd is None:
        return
    try:
        for d in sorted(dest.touched_dirs):
            fsync_dir(d)
        _sweep_parts(dest.roll_dir)
        if not dest.entries:
            return
        manifest = _write_generation(dest, result, scan, formats, ignore, comment)
        dest.result.manifest = str(manifest)
        dest.result.history_extended = dest.history is not None
        dest.result.already_offloaded = (
            dest.result.files_copied == 0
            and dest.result.files_identical > 0
            and dest.result.files_failed == 0
        )
    except OSError as exc:
        failure, msg = classify_write_error(dest, exc)
        dest.die(failure, f"{msg} while writing the ASC MHL manifest")


def clean_state(roll_dir: Path) -> None:
    """Remove a roll's `_rushline/` state folder (lock and reports), e.g. before archiving."""
    shutil.rmtree(roll_dir / STATE_DIR, ignore_errors=True)
