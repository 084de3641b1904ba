"""Tape spanning: when the destination is a set of volumes with capacities (LTO tapes, or
drives), plan which file goes where — first-fit decreasing by file, files never split — and
make one self-contained bag per volume.

Each volume's bag carries the ASC MHL history (`ascmhl/` files) of every roll it holds part
of, so a single tape can be verified and understood alone, and the plan (which files are on
which volume) as a tag file, so any one tape tells where the rest are.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path, PurePosixPath
from typing import Any

import yaml

from pipeline.archive.bag import Item
from pipeline.archive.errors import ArchiveError
from pipeline.exitcodes import ArchiveExit
from pipeline.mhl import MHL_FOLDER
from pipeline.names import printable

LTO_DATA = Path(__file__).with_name("data") / "lto.yaml"
_SIZE_RE = re.compile(r"^(\d+(?:\.\d+)?)\s*([KMGTP]?)B?$", re.IGNORECASE)
_UNITS = {"": 1, "K": 10**3, "M": 10**6, "G": 10**9, "T": 10**12, "P": 10**15}
#: room kept on each volume for its tag files: a base, plus manifest and catalogue lines per file
TAG_BASE = 256 * 1024
TAG_PER_FILE = 4 * 1024


@cache
def lto_table() -> dict[str, Any]:
    """The LTO capacities data file (native bytes per generation, usable fraction, sources)."""
    with open(LTO_DATA, encoding="utf-8") as fh:
        return yaml.safe_load(fh)


@dataclass
class Volume:
    path: Path
    capacity: int  # bytes we plan to fill (after the LTFS/tag reserve for tapes)
    label: str  # "lto-9", "500G" or "free space"


@dataclass
class VolumePlan:
    volume: Volume
    items: list[Item] = field(default_factory=list)

    @property
    def used(self) -> int:
        return sum(i.size for i in self.items)


def parse_capacity(spec: str) -> tuple[int, str]:
    """'lto-9' / 'LTO9' (native x usable fraction), '500G', '2.5T', '123456' (decimal bytes)."""
    key = spec.strip().lower().replace("_", "-")
    key = re.sub(r"^lto-?(\d)", r"lto-\1", key)
    table = lto_table()
    if key in table["generations"]:
        native = table["generations"][key]["native_bytes"]
        return int(native * table["usable"]), key
    m = _SIZE_RE.match(spec.strip())
    if not m:
        choices = ", ".join(table["generations"])
        raise ArchiveError(
            f"volume capacity {spec!r} is not understood: use {choices}, or a size such as "
            "500G or 2.5T (decimal units)",
            exit_code=ArchiveExit.BAD_NAME,
        )
    return int(float(m.group(1)) * _UNITS[m.group(2).upper()]), spec.strip()


def parse_volume(spec: str) -> Volume:
    """PATH, or PATH=CAPACITY (PATH=lto-9, PATH=500G); without one, the free space at PATH."""
    path, sep, cap = spec.rpartition("=")
    if not sep or not cap or "/" in cap:
        path, cap = spec, ""
    p = Path(path)
    if not p.is_dir():
        raise ArchiveError(
            f"volume {printable(path)} is not a folder; mount it (LTFS) or create it first",
            exit_code=ArchiveExit.BAG_INVALID,
            path=p,
        )
    if cap:
        capacity, label = parse_capacity(cap)
        return Volume(p, min(capacity, shutil.disk_usage(p).free), label)
    return Volume(p, shutil.disk_usage(p).free, "free space")


def _top(item: Item) -> str:
    return PurePosixPath(item.payload).parts[1]


def _is_history(item: Item) -> bool:
    return MHL_FOLDER in PurePosixPath(item.payload).parts[:-1]


def plan_span(items: Sequence[Item], volumes: Sequence[Volume]) -> list[VolumePlan]:
    """First-fit decreasing by file; each roll's MHL history goes with every part of the roll.

    Every volume reserves room for all histories up front (they are small), so adding them
    after placing the media never overflows a volume, and room for its tag files."""
    history = [i for i in items if _is_history(i)]
    media = sorted((i for i in items if not _is_history(i)), key=lambda i: (-i.size, i.payload))
    reserve = sum(i.size + TAG_PER_FILE for i in history) + TAG_BASE
    plans = [VolumePlan(v) for v in volumes]
    room = [v.capacity - reserve for v in volumes]
    for it in media:
        for n, plan in enumerate(plans):
            if it.size + TAG_PER_FILE <= room[n]:
                plan.items.append(it)
                room[n] -= it.size + TAG_PER_FILE
                break
        else:
            biggest = max((v.capacity for v in volumes), default=0)
            raise ArchiveError(
                f"{printable(str(it.src))} ({it.size / 1e9:.2f} GB) does not fit on any volume "
                f"left (largest {biggest / 1e9:.2f} GB; {sum(room) / 1e9:.2f} GB free in all)",
                exit_code=ArchiveExit.DEST_FULL,
                hint="add a volume (another --to PATH=lto-9); files are never split",
            )
    used = [p for p in plans if p.items] or plans[:1]
    for p in used:
        tops = {_top(i) for i in p.items}
        p.items.extend(h for h in history if _top(h) in tops or not p.items)
        p.items.sort(key=lambda i: i.payload)
    return used


def plan_json(name: str, plans: Sequence[VolumePlan], names: Sequence[str]) -> dict[str, Any]:
    """The span plan as data: which bag on which volume holds which payload file."""
    return {
        "archive": name,
        "volumes": [
            {
                "bag": bag,
                "index": n,
                "of": len(plans),
                "volume": os.fspath(p.volume.path),
                "capacity_label": p.volume.label,
                "capacity_bytes": p.volume.capacity,
                "bytes": p.used,
                "files": [i.payload for i in p.items],
            }
            for n, (p, bag) in enumerate(zip(plans, names, strict=True), start=1)
        ],
        "source": lto_table()["generations"],
    }
