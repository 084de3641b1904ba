"""`archive verify BAG`: re-read every payload and tag file of a bag from the device and
compare with its manifests; report missing, altered and unlisted files and the Payload-Oxum.

The bag is opened with bagit-python (so manifests are parsed exactly as `bagit.py --validate`
parses them, path encoding included); the hashing and the comparison are ours, file by file,
so a report names every damaged file rather than stopping at the first. Tests check that the
verdict agrees with `bagit.Bag(path).validate()`.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import bagit

from pipeline.archive.copy import hash_path
from pipeline.archive.errors import ArchiveError
from pipeline.exitcodes import OK, ArchiveExit
from pipeline.names import nfc, printable


@dataclass
class BagCheck:
    bag: str
    algorithms: list[str]
    files: int = 0
    bytes: int = 0
    missing: list[str] = field(default_factory=list)
    altered: list[str] = field(default_factory=list)  # "path: alg expected X, read Y"
    extra: list[str] = field(default_factory=list)
    oxum: str | None = None  # the problem with Payload-Oxum, if any

    @property
    def ok(self) -> bool:
        return not (self.missing or self.altered or self.extra or self.oxum)

    @property
    def exit_code(self) -> int:
        if self.altered:
            return ArchiveExit.ALTERED
        if self.missing:
            return ArchiveExit.MISSING
        if self.extra or self.oxum:
            return ArchiveExit.EXTRA
        return OK


def open_bag(path: str | os.PathLike[str]) -> bagit.Bag:
    """A bag opened with bagit-python; a malformed one is an ArchiveError naming it."""
    p = Path(path)
    if not (p / "bagit.txt").is_file():
        raise ArchiveError(
            f"{printable(str(p))} is not a BagIt bag (no bagit.txt)",
            exit_code=ArchiveExit.BAG_INVALID,
            path=p,
            hint="give the bag's folder (the one holding bagit.txt and data/)",
        )
    try:
        return bagit.Bag(os.fspath(p))
    except (bagit.BagError, OSError, UnicodeDecodeError, ValueError) as exc:
        raise ArchiveError(
            f"{printable(str(p))} cannot be read as a bag: {exc}",
            exit_code=ArchiveExit.BAG_INVALID,
            path=p,
        ) from exc


def _check_entry(bag: bagit.Bag, rel: str, want: dict[str, str], report: BagCheck) -> None:
    full = os.path.join(bag.path, rel)
    if not os.path.isfile(full):
        report.missing.append(rel)
        return
    algs = tuple(a for a in want if a in bagit.CHECKSUM_ALGOS)
    got = hash_path(full, algs)
    for alg in algs:
        if got[alg] != want[alg].lower():
            report.altered.append(f"{rel}: {alg} expected {want[alg]}, read {got[alg]}")
            return
    if rel.startswith("data/"):
        report.files += 1
        report.bytes += os.path.getsize(full)


def verify_bag(
    path: str | os.PathLike[str], progress: Callable[[str], None] | None = None
) -> BagCheck:
    """Re-read everything in the bag and report every difference from its manifests."""
    bag = open_bag(path)
    report = BagCheck(str(path), list(bag.algorithms))
    listed = {nfc(rel) for rel in bag.entries if rel.startswith("data/")}
    for rel, want in sorted(bag.entries.items()):
        if progress:
            progress(rel)
        _check_entry(bag, rel, want, report)
    on_disk = {nfc(p): p for p in bag.payload_files()}
    report.extra = sorted(on_disk[k] for k in on_disk.keys() - listed)
    oxum = bag.info.get("Payload-Oxum")
    if oxum:
        sizes = [os.path.getsize(os.path.join(bag.path, p)) for p in on_disk.values()]
        found = f"{sum(sizes)}.{len(sizes)}"
        if oxum.strip() != found:
            report.oxum = f"Payload-Oxum says {oxum.strip()}, the payload is {found}"
    return report
