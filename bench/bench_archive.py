"""Archive throughput (issue 12): `pipeline.archive` packing a roll as a BagIt bag against the
baseline the issue names, "plain copy + one hash pass of the same data". Goal: within 1.2x.

    python -m bench.bench_archive            # 16 x 128 MiB (2.1 GB), 5 rounds
    python -m bench.bench_archive --quick    # 8 x 32 MiB (268 MB), 5 rounds
    python -m bench.bench_archive --repeat N

Variants, on the same roll (media files plus an ascmhl/ history):
  archive    `archive()`: each file read once (SHA-256 for the manifest and xxh128 for the
             read-back, in the offload engine's hash thread), written to a temporary name by its
             writer thread, fsynced, its cached pages dropped, read back from the device and
             compared, then linked to its final name (the read-back of one file overlaps the copy
             of the next); manifests, tag manifests, catalogue tag files, one fsync per folder,
             the bag renamed into place, the catalogue told where each file lives.
  baseline   the issue's baseline with the same I/O: `shutil.copyfile` + fsync of every file
             (read 1, write 1), then one SHA-256 pass over the same data read from the device
             (read 2). The archive does read 1 + write 1 + read 2 (its read-back): same bytes
             moved, so the ratio is the cost of what the archive adds (bagging, checks, names).
  baseline-warm  (shown, not the goal) the same with the hash pass served by the page cache,
             as a naive "cp then sha256sum" of a roll that fits in memory would be.

Before EVERY run: previous outputs deleted, sync(), then fadvise(DONTNEED) on every source file,
so each run starts with a cold source. The order of the variants rotates each round; the table
shows the median and the spread (min-max). The 1-minute load average is printed with every run:
the machine may be shared, and a ratio measured under load says so. One warm-up archive (not
counted) loads the modules and creates the catalogue. On this VM source and destination share
one virtual disk.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from pipeline.archive.pack import archive
from pipeline.hashing import CHUNK_SIZE, evict

GOAL = 1.20


def make_roll(root: Path, files: int, size: int) -> Path:
    roll = root / "A001"
    (roll / "ascmhl").mkdir(parents=True)
    (roll / "ascmhl" / "0001_A001.mhl").write_text("<hashlist/>")
    block = os.urandom(CHUNK_SIZE)
    for i in range(files):
        with open(roll / f"A001C{i:03d}.mov", "wb") as fh:
            left = size
            while left:
                n = min(left, CHUNK_SIZE)
                fh.write(block[:n])
                left -= n
    return roll


def _files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file())


def evict_files(paths: list[Path]) -> None:
    """Drop the cached pages of these files (after a sync they are clean, so Linux drops them)."""
    for p in paths:
        fd = os.open(p, os.O_RDONLY)
        try:
            evict(fd)
        finally:
            os.close(fd)


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    buf = bytearray(CHUNK_SIZE)
    view = memoryview(buf)
    with open(path, "rb", buffering=0) as fh:
        while n := fh.readinto(buf):
            h.update(view[:n])
    return h.hexdigest()


def baseline(roll: Path, out: Path, *, cold_hash: bool = True) -> None:
    """Plain copy (copyfile + fsync) of every file, then one SHA-256 pass over the data."""
    srcs = _files(roll)
    for src in srcs:
        dest = out / src.relative_to(roll)
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(src, dest)
        with open(dest, "rb+") as fh:
            os.fsync(fh.fileno())
    if cold_hash:
        evict_files(srcs)  # read 2 from the device, as the archive's read-back is
    for src in srcs:
        _sha256(src)


def run_archive(roll: Path, out: Path, cat: Path, n: int) -> None:
    out.mkdir()
    archive([roll], [str(out)], f"BENCH_20261122_roll_{n:03d}", catalog=cat)


def timed(roll: Path, out: Path, fn: Callable[[], None]) -> tuple[float, float]:
    """(seconds, load) of one run, from the same start: no outputs, flushed, cold source."""
    shutil.rmtree(out, ignore_errors=True)
    os.sync()
    evict_files(_files(roll))
    load = os.getloadavg()[0]
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started, load


def rounds(root: Path, roll: Path, repeat: int) -> dict[str, list[tuple[float, float]]]:
    cat = root / "cat.sqlite"
    out = root / "out"
    run_archive(roll, out, cat, 999)  # warm-up: imports, catalogue tables
    variants: dict[str, Callable[[int], None]] = {
        "archive": lambda n: run_archive(roll, out, cat, n),
        "baseline": lambda n: baseline(roll, out),
        "baseline-warm": lambda n: baseline(roll, out, cold_hash=False),
    }
    names = list(variants)
    runs: dict[str, list[tuple[float, float]]] = {k: [] for k in names}
    for r in range(repeat):
        order = names[r % len(names) :] + names[: r % len(names)]
        for name in order:
            secs, load = timed(roll, out, lambda: variants[name](r + 1))  # noqa: B023
            runs[name].append((secs, load))
            print(f"  round {r + 1} {name:14s} {secs:6.2f} s   load {load:.2f}", flush=True)
    shutil.rmtree(out, ignore_errors=True)
    return runs


def report(runs: dict[str, list[tuple[float, float]]], total: int) -> float:
    mb = total / 1e6
    med = {k: statistics.median(s for s, _ in v) for k, v in runs.items()}
    print(f"\n{'variant':15s} {'median':>8s} {'min-max':>13s} {'MB/s':>6s}")
    for k, v in runs.items():
        secs = [s for s, _ in v]
        print(f"{k:15s} {med[k]:7.2f}s {min(secs):6.2f}-{max(secs):<6.2f} {mb / med[k]:6.0f}")
    loads = [ld for v in runs.values() for _, ld in v]
    print(f"load average (1 min) during the runs: {min(loads):.2f}-{max(loads):.2f}")
    ratio = med["archive"] / med["baseline"]
    print(
        f"ratio archive / baseline (medians): {ratio:.2f}x (goal <= {GOAL:.2f}x) "
        f"{'OK' if ratio <= GOAL else 'SLOW'}"
    )
    print(
        f"ratio archive / baseline-warm (shown only): {med['archive'] / med['baseline-warm']:.2f}x"
    )
    return ratio


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="268 MB instead of 2.1 GB")
    parser.add_argument("--repeat", type=int, default=5, help="rounds (default 5)")
    args = parser.parse_args(argv)
    files, size = (8, 32 * 2**20) if args.quick else (16, 128 * 2**20)
    with tempfile.TemporaryDirectory(prefix="rushline-bench-archive-", dir="/var/tmp") as tmp:
        root = Path(tmp)
        roll = make_roll(root, files, size)
        total = sum(p.stat().st_size for p in _files(roll))
        print(f"data: {files} files, {total / 1e6:.0f} MB; {args.repeat} rounds", flush=True)
        runs = rounds(root, roll, args.repeat)
    report(runs, total)
    return 0


if __name__ == "__main__":
    sys.exit(main())
