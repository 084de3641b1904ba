"""Archive throughput: `pipeline.archive` packing a roll as a BagIt bag (copy with SHA-256
computed on the source read, fsync, rename, read-back check, manifests, tag files) against the
baseline the issue names, measured in this run on the same data: a plain copy of every file
(shutil.copyfile + fsync) plus one SHA-256 pass over the same data. Goal: within 1.2x.

Page cache: both sides run with the source warm (the baseline first, so the archive never
benefits from it); the archive's read-back asks the kernel to drop the copy's pages first.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

from pipeline.archive.pack import archive

CHUNK = 8 * 1024 * 1024


def make_roll(root: Path, files: int, size: int) -> Path:
    roll = root / "A001"
    (roll / "ascmhl").mkdir(parents=True)
    (roll / "ascmhl" / "0001_A001.mhl").write_text("<hashlist/>")
    block = os.urandom(CHUNK)
    for i in range(files):
        with open(roll / f"A001C{i:03d}.mov", "wb") as fh:
            left = size
            while left:
                n = min(left, CHUNK)
                fh.write(block[:n])
                left -= n
    return roll


def baseline(roll: Path, dest: Path) -> float:
    started = time.perf_counter()
    for src in sorted(p for p in roll.rglob("*") if p.is_file()):
        out = dest / src.relative_to(roll)
        out.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(src, out)
        with open(out, "rb+") as fh:
            os.fsync(fh.fileno())
        h = hashlib.sha256()
        with open(src, "rb") as fh:
            while block := fh.read(CHUNK):
                h.update(block)
    return time.perf_counter() - started


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="256 MB instead of 2 GB")
    args = parser.parse_args(argv)
    files, size = (8, 32 * 2**20) if args.quick else (16, 128 * 2**20)
    with tempfile.TemporaryDirectory(prefix="rushline-bench-archive-", dir="/var/tmp") as tmp:
        root = Path(tmp)
        roll = make_roll(root, files, size)
        total = files * size
        base = min(baseline(roll, root / f"copy{i}") for i in range(2))
        runs = []
        for i in range(2):
            (root / f"bags{i}").mkdir()
            started = time.perf_counter()
            archive(
                [roll],
                [str(root / f"bags{i}")],
                f"BENCH_20261122_roll_{i + 1:03d}",
                catalog=root / "cat.sqlite",
            )
            runs.append(time.perf_counter() - started)
        best = min(runs)
    mb = total / 1e6
    print(f"data: {files} files, {mb:.0f} MB")
    print(f"copy + one sha256 pass: {base:.2f} s ({mb / base:.0f} MB/s)")
    print(f"archive (bag, verified): {best:.2f} s ({mb / best:.0f} MB/s)")
    ratio = best / base
    print(
        f"ratio archive / baseline: {ratio:.2f}x (goal <= 1.20x) {'OK' if ratio <= 1.2 else 'SLOW'}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
