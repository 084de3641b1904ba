"""The neutral records the catalogue is written from (an offload and an MHL import both become
CopyFacts), and how a path is named: its volume, and the roll folder it belongs to."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from pipeline.mhl import MHL_FOLDER
from pipeline.names import nfc

#: Folders whose children are volumes (macOS, Linux desktops, Linux servers).
_VOLUME_PARENTS = (("Volumes",), ("media", "*"), ("media",), ("run", "media", "*"), ("mnt",))


@dataclass
class CopyFact:
    """One verified (or indexed) copy of one file of a roll."""

    path: str  # inside the roll, POSIX, NFC
    size: int | None
    mtime: str | None
    hashes: dict[str, str]
    copy_path: str  # absolute
    root: str  # the destination folder
    volume: str
    status: str  # copied / identical / indexed / probed
    verified: str | None  # size / full / source / mhl; None when not verified
    verified_at: str | None
    generation: int | None = None
    manifest: str | None = None


@dataclass
class RecordSummary:
    """What one record_* call wrote."""

    rolls: list[str] = field(default_factory=list)
    clips: int = 0
    copies: int = 0
    skipped: list[str] = field(default_factory=list)  # files not recorded, with the reason


def volume_name(path: str | os.PathLike[str]) -> str:
    """The name a DIT calls a drive by: `SHUTTLE1` for /Volumes/SHUTTLE1/..., /media/me/SHUTTLE1
    or /mnt/SHUTTLE1; for any other folder, the folder's own name (a destination root)."""
    p = Path(os.path.abspath(path))
    parts = p.parts[1:]
    for pattern in _VOLUME_PARENTS:
        n = len(pattern)
        if len(parts) > n and all(w == "*" or w == s for w, s in zip(pattern, parts, strict=False)):
            if pattern == ("media",) and len(parts) > 2 and os.path.ismount(Path("/", *parts[:3])):
                return parts[2]  # /media/<user>/<volume>
            return parts[n]
    return p.name or str(p)


def roll_root_of(file: str | os.PathLike[str], max_up: int = 12) -> Path | None:
    """The roll folder a file belongs to: the nearest parent holding an `ascmhl/` history."""
    p = Path(os.path.abspath(file)).parent
    for _ in range(max_up):
        if (p / MHL_FOLDER).is_dir():
            return p
        if p.parent == p:
            return None
        p = p.parent
    return None


def locate(file: str | os.PathLike[str]) -> tuple[str, str, str]:
    """(roll name, path inside the roll, roll root) for a file seen outside an offload."""
    absolute = Path(os.path.abspath(file))
    root = roll_root_of(absolute) or absolute.parent
    rel = PurePosixPath(*absolute.relative_to(root).parts)
    return nfc(root.name or str(root)), nfc(str(rel)), str(root)


def clip_name(path: str) -> str:
    """A clip's name from its path in the roll: the file name without its extension."""
    name = path.rsplit("/", 1)[-1]
    stem = name.rsplit(".", 1)[0] if "." in name.lstrip(".") else name
    return stem or name
