"""Re-check a copy (or any folder with an ASC MHL history) against its history.

Every file on disk is re-read from the device (cache dropped first) and compared with the first
"original" hash the history recorded for it, as the reference `ascmhl verify` does. Names are
compared in NFC so a roll offloaded on macOS (NFD names) verifies on Linux and back.

Exit codes (the first that applies, in this order of seriousness)
    21 altered: a file's content differs from its recorded hash (or its size does)
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
import unicodedata
from collections.abc import Callable, Sequence
from pathlib import Path

from pydantic import BaseModel, Field

from pipeline import mhl
from pipeline.errors import VerifyError
from pipeline.hashing import hash_file

EXIT_OK = 0
EXIT_MISSING = 20
EXIT_ALTERED = 21
EXIT_NEW = 22
EXIT_NO_HISTORY = 23
EXIT_HISTORY_DAMAGED = 24


class NoHistoryError(VerifyError):
    exit_code = EXIT_NO_HISTORY


class Altered(BaseModel):
    path: str
    fmt: str
    expected: str
    actual: str
    expected_size: int | None = None
    actual_size: int | None = None


class VerifyResult(BaseModel):
    """What `rushline verify` found; `exit_code` follows the module docstring."""

    root: str
    generations: int
    files_checked: int = 0
    bytes_checked: int = 0
    ok: list[str] = Field(default_factory=list)
    missing: list[str] = Field(default_factory=list)
    altered: list[Altered] = Field(default_factory=list)
    new: list[str] = Field(default_factory=list)
    damaged_history: list[str] = Field(default_factory=list)
    duration_s: float = 0.0
    exit_code: int = 0


def _nfc(p: str) -> str:
    return unicodedata.normalize("NFC", p)


def _ignored(rel: str, name: str, is_dir: bool, patterns: Sequence[str]) -> bool:
    for pat in patterns:
        if pat.endswith("/"):
            if is_dir and (fnmatch.fnmatchcase(name, pat[:-1]) or rel == pat[:-1]):
                return True
        elif fnmatch.fnmatchcase(name, pat) or fnmatch.fnmatchcase(rel, pat):
            return True
    return False


def _walk(root: Path, patterns: Sequence[str]) -> dict[str, str]:
    """{NFC relative path: relative path on disk} for every regular file not ignored."""
    found: dict[str, str] = {}

    def walk(abs_dir: str, rel_dir: str) -> None:
        for e in sorted(os.scandir(abs_dir), key=lambda e: e.name):
            rel = f"{rel_dir}/{e.name}" if rel_dir else e.name
            st = e.stat(follow_symlinks=False)
            is_dir = stat.S_ISDIR(st.st_mode)
            if not rel_dir and e.name == mhl.MHL_FOLDER:
                continue
            if _ignored(rel, e.name, is_dir, patterns):
                continue
            if is_dir:
                walk(e.path, rel)
            elif stat.S_ISREG(st.st_mode):
                found[_nfc(rel)] = rel

    walk(str(root), "")
    return found


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
    originals = {_nfc(p): v for p, v in history.original_entries().items()}
    on_disk = _walk(root, history.ignore_patterns())

    for key, rel in sorted(on_disk.items()):
        entry = originals.get(key)
        if entry is None:
            res.new.append(rel)
            continue
        fe, rec = entry
        full = root / rel
        size = full.stat().st_size
        actual = hash_file(full, [rec.fmt], from_device=from_device)[rec.fmt]
        res.files_checked += 1
        res.bytes_checked += size
        if progress:
            progress(size)
        if actual != rec.value or (fe.size >= 0 and size != fe.size):
            res.altered.append(
                Altered(
                    path=rel,
                    fmt=rec.fmt,
                    expected=rec.value,
                    actual=actual,
                    expected_size=fe.size if fe.size >= 0 else None,
                    actual_size=size,
                )
            )
        else:
            res.ok.append(rel)
    res.missing = sorted(originals[k][0].path for k in set(originals) - set(on_disk))
    if res.altered:
        res.exit_code = EXIT_ALTERED
    elif res.missing:
        res.exit_code = EXIT_MISSING
    elif res.damaged_history:
        res.exit_code = EXIT_HISTORY_DAMAGED
    elif res.new:
        res.exit_code = EXIT_NEW
    res.duration_s = round(time.monotonic() - t0, 3)
    return res
