"""Re-check a copy (or any folder with an ASC MHL history) against its history.

Every file on disk is re-read from the device (cache dropped first) and compared with the first
"original" hash the history recorded for it, as the reference `ascmhl verify` does. Names are
compared in NFC so a roll offloaded on macOS (NFD names) verifies on Linux and back.

Exit codes (pipeline.exitcodes.VerifyExit; the first that applies, in this order of seriousness)
    21 altered: a file's content differs from its recorded hash (or its size does)
    25 unreadable: a recorded file cannot be read (I/O error, permissions) or is not a regular
       file any more (a folder, a symbolic link, a FIFO in its place)
    20 missing: a file recorded in the history is not on disk
    24 history damaged: a manifest was edited or deleted after it was written (chain C4)
    22 new: files on disk that the history does not know
    23 no ASC MHL history in this folder
     0 every recorded file is present and identical
"""

from __future__ import annotations

import fnmatch
import os
import stat
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import BaseModel, Field

from pipeline import mhl
from pipeline.errors import VerifyError
from pipeline.exitcodes import VerifyExit
from pipeline.hashing import hash_file
from pipeline.names import nfc


class NoHistoryError(VerifyError):
    exit_code = int(VerifyExit.NO_HISTORY)


class Altered(BaseModel):
    path: str
    fmt: str
    expected: str
    actual: str
    expected_size: int | None = None
    actual_size: int | None = None


class Unreadable(BaseModel):
    """A recorded file (or a folder) that could not be read, and why."""

    path: str
    reason: str


class VerifyResult(BaseModel):
    """What `rushline verify` found; `exit_code` follows the module docstring."""

    root: str
    generations: int
    files_checked: int = 0
    bytes_checked: int = 0
    ok: list[str] = Field(default_factory=list)
    missing: list[str] = Field(default_factory=list)
    altered: list[Altered] = Field(default_factory=list)
    unreadable: list[Unreadable] = Field(default_factory=list)
    new: list[str] = Field(default_factory=list)
    damaged_history: list[str] = Field(default_factory=list)
    duration_s: float = 0.0
    exit_code: int = 0

    def settle_exit_code(self) -> None:
        for found, code in (
            (self.altered, VerifyExit.ALTERED),
            (self.unreadable, VerifyExit.UNREADABLE),
            (self.missing, VerifyExit.MISSING),
            (self.damaged_history, VerifyExit.HISTORY_DAMAGED),
            (self.new, VerifyExit.NEW),
        ):
            if found:
                self.exit_code = int(code)
                return
        self.exit_code = 0


def _ignored(rel: str, name: str, is_dir: bool, patterns: Sequence[str]) -> bool:
    for pat in patterns:
        if pat.endswith("/"):
            if is_dir and (fnmatch.fnmatchcase(name, pat[:-1]) or rel == pat[:-1]):
                return True
        elif fnmatch.fnmatchcase(name, pat) or fnmatch.fnmatchcase(rel, pat):
            return True
    return False


def _kind(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return "a folder"
    if stat.S_ISLNK(mode):
        return "a symbolic link"
    if stat.S_ISFIFO(mode):
        return "a named pipe (FIFO)"
    return "not a regular file"


@dataclass
class _Walk:
    """The files on disk: {NFC path: path on disk}, and what could not be read."""

    patterns: Sequence[str]
    recorded: set[str]
    found: dict[str, str] = field(default_factory=dict)
    unreadable: list[Unreadable] = field(default_factory=list)

    def walk(self, abs_dir: str, rel_dir: str) -> None:
        try:
            entries = sorted(os.scandir(abs_dir), key=lambda e: e.name)
        except OSError as exc:
            where = f"{rel_dir}/" if rel_dir else "./"
            self.unreadable.append(Unreadable(path=where, reason=exc.strerror or str(exc)))
            return
        for e in entries:
            rel = f"{rel_dir}/{e.name}" if rel_dir else e.name
            try:
                mode = e.stat(follow_symlinks=False).st_mode
            except OSError as exc:
                self.unreadable.append(Unreadable(path=rel, reason=exc.strerror or str(exc)))
                continue
            if not rel_dir and e.name == mhl.MHL_FOLDER:
                continue
            if _ignored(rel, e.name, stat.S_ISDIR(mode), self.patterns):
                continue
            if stat.S_ISREG(mode):
                self.found[nfc(rel)] = rel
                continue
            if nfc(rel) in self.recorded:  # never opened: a FIFO would block, a link mislead
                reason = f"{_kind(mode)} where the history records a file"
                self.unreadable.append(Unreadable(path=rel, reason=reason))
            if stat.S_ISDIR(mode):
                self.walk(e.path, rel)


def _check_file(
    res: VerifyResult, root: Path, rel: str, entry: tuple[mhl.FileEntry, mhl.HashRecord],
    from_device: bool, progress: Callable[[int], None] | None,
) -> None:  # fmt: skip
    fe, rec = entry
    full = root / rel
    try:
        size = full.lstat().st_size
        actual = hash_file(full, [rec.fmt], from_device=from_device, follow_symlinks=False)
    except OSError as exc:
        res.unreadable.append(Unreadable(path=rel, reason=exc.strerror or str(exc)))
        return
    res.files_checked += 1
    res.bytes_checked += size
    if progress:
        progress(size)
    if actual[rec.fmt] != rec.value or (fe.size >= 0 and size != fe.size):
        res.altered.append(
            Altered(
                path=rel,
                fmt=rec.fmt,
                expected=rec.value,
                actual=actual[rec.fmt],
                expected_size=fe.size if fe.size >= 0 else None,
                actual_size=size,
            )
        )
    else:
        res.ok.append(rel)


def verify_path(
    path: str | os.PathLike[str],
    *,
    from_device: bool = True,
    progress: Callable[[int], None] | None = None,
) -> VerifyResult:
    """Verify every file under `path` against its ASC MHL history (see the module docstring)."""
    t0 = time.monotonic()
    root = Path(path).absolute()
    if not root.is_dir():
        raise VerifyError(f"{root} is not a folder", path=root, hint="give the roll's folder")
    history = mhl.load_history(root)
    if history is None or not history.generations:
        raise NoHistoryError(
            f"{root} has no ASC MHL history (no ascmhl/ folder with manifests)",
            path=root,
            hint="verify the roll folder that holds ascmhl/, or create one with `ascmhl create`",
        )
    res = VerifyResult(root=str(root), generations=len(history.generations))
    res.damaged_history = [*history.tampered, *history.missing_manifests]
    originals = {nfc(p): v for p, v in history.original_entries().items()}
    disk = _Walk(history.ignore_patterns(), set(originals))
    disk.walk(str(root), "")
    res.unreadable = disk.unreadable
    for key, rel in sorted(disk.found.items()):
        entry = originals.get(key)
        if entry is None:
            res.new.append(rel)
        else:
            _check_file(res, root, rel, entry, from_device, progress)
    seen = set(disk.found) | {nfc(u.path) for u in res.unreadable}
    # files in a folder that could not be listed are unreadable, not missing
    blind = tuple(nfc(u.path).removeprefix("./") for u in res.unreadable if u.path.endswith("/"))
    res.missing = sorted(
        originals[k][0].path for k in set(originals) - seen if not k.startswith(blind)
    )
    res.settle_exit_code()
    res.duration_s = round(time.monotonic() - t0, 3)
    return res
