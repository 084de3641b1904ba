"""Offload speed: Rushline vs its own engine without hashing, and vs `cp` + `ascmhl create`.

    python -m bench.bench_offload                # >= 2 GB of clips + 10 000 small files, 3 rounds
    python -m bench.bench_offload --quick        # ~200 MB + 1 000 files, 1 round, < 1 min
    python -m bench.bench_offload --legacy       # also the old hand-written no-hash replica

Variants, each offloading the same roll to two destination folders:
  rushline  `pipeline.offload.offload`, xxh128, `full` verification: read once (8 MiB chunks,
            one writer thread per destination, one hash thread), fsync per big file / one
            syncfs per destination per batch of small files, fadvise(DONTNEED) on every copy,
            re-read every copy from the device and compare, ASC MHL generation on each copy.
  no-hash   THE SAME `offload()` call, same chunk size, threads, fsync/syncfs batching, fadvise
            eviction and re-reads, with the hash replaced by a null hash (update() does nothing)
            and no ASC MHL written. So rushline / no-hash is exactly the cost of hashing plus
            the manifest, on the same IO path.
  naive     what the free tools do: `cp -R` to each destination, then `ascmhl create -h xxh128`
            on each (which re-reads the copies, usually from the page cache: not a device check).
  legacy    (only with --legacy) the previous baseline, a hand-written replica: threads spawned
            per file, fsync per file (no syncfs batching). Kept to show why it misled.

Before EVERY variant: the previous destinations are deleted, then sync(), then fadvise(DONTNEED)
on every source file (and any destination file), so each variant starts with a cold source and
empty destinations. The variant order rotates each round (`--repeat N`); the table shows the
median and the spread (min-max) per variant. The load average is printed with each run: the
machine may be shared, and a ratio measured under load says so.

Why the baseline is the engine itself: the previous hand-written replica (`--legacy`) came out
2-3x slower than Rushline, which a "same IO minus hashing" floor cannot be. Measured on 2.2 GB
(4 runs each, alternating): 12.9-23.3 s and 10-13 s CPU vs 8.7-14.5 s and 3-7 s CPU for the
engine, the extra time in its write phase, because it never dropped its re-read copies from the
page cache, which grew by 4.4 GB during the run (Cached 3.3 -> 7.5 GB); on this VM every newly
used page of memory is dear (touching 3 GiB of fresh memory: 3.6-8.7 s CPU). The same replica
with one fadvise(DONTNEED) after each re-read: 8.7-8.9 s, 4.9-5.4 s CPU, as fast as the engine.
On small files it paid 2 fsyncs and 4 thread starts per file where Rushline does one syncfs per
destination per batch. A replica drifts from the engine; the engine with a null hash cannot.

Goals (issue 3): rushline / no-hash <= 1.10; naive / rushline >= 1.5; per-file overhead of
rushline over no-hash <= 2 ms on small files. On one disk the source and both "destinations"
share a device: the output says so.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import queue
import resource
import shutil
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from unittest import mock

from pipeline import hashing, mhl
from pipeline.hashing import CHUNK_SIZE, evict
from pipeline.offload import OffloadResult, offload

OUT = Path(__file__).resolve().parent / "out" / "offload"
MARKER = ".complete"  # generator bookkeeping in the source, not part of the roll
NULL_DIGEST = "0" * 32


# ---------------------------------------------------------------- test material


def _write_random(path: Path, size: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.exists() and path.stat().st_size == size:
        return
    block = os.urandom(min(size, 16 * 1024 * 1024))
    with open(path, "wb") as fh:
        left = size
        while left:
            n = min(left, len(block))
            fh.write(block[:n])
            # vary the blocks so no file system deduplicates or compresses them away
            block = block[1:] + block[:1] if left > n else block
            left -= n


def make_big_roll(root: Path, total: int, n_files: int) -> Path:
    roll = root / "BIG_A001"
    wanted = {f"A001C{i:03d}.MXF" for i in range(n_files)}
    if (roll / "CLIPS").is_dir():  # a roll from another size setting: drop the extra clips
        for p in (roll / "CLIPS").iterdir():
            if p.name not in wanted:
                p.unlink()
    for name in sorted(wanted):
        _write_random(roll / "CLIPS" / name, total // n_files)
    return roll


def make_small_roll(root: Path, n_files: int, size: int = 16 * 1024) -> Path:
    roll = root / "SMALL_B001"
    marker = roll / MARKER
    if marker.exists() and marker.read_text() == str(n_files):
        return roll
    shutil.rmtree(roll, ignore_errors=True)
    for i in range(n_files):
        p = roll / "DCIM" / f"{100 + i // 1000}EOS" / f"IMG_{i:05d}.CR3"
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(os.urandom(size))
    marker.write_text(str(n_files))
    return roll


def count_files(root: Path) -> tuple[int, int]:
    n = size = 0
    for dirpath, _dirs, names in os.walk(root):
        for name in names:
            if name != MARKER:
                n += 1
                size += os.path.getsize(os.path.join(dirpath, name))
    return n, size


# ---------------------------------------------------------------- identical starting state


def evict_tree(root: Path) -> int:
    """fadvise(DONTNEED) on every file under root (after a sync, its pages are clean)."""
    n = 0
    for dirpath, _dirs, names in os.walk(root):
        for name in names:
            try:
                fd = os.open(os.path.join(dirpath, name), os.O_RDONLY)
            except OSError:
                continue
            try:
                evict(fd)
                n += 1
            finally:
                os.close(fd)
    return n


def prepare(src: Path, dests: list[Path]) -> float:
    """Same start for every variant: destinations deleted and recreated empty, everything
    flushed, every source (and destination) file's cached pages dropped. Returns the seconds
    the flush took (on a `discard` mount, deleting gigabytes makes the next sync slow)."""
    for d in dests:
        shutil.rmtree(d, ignore_errors=True)
        d.mkdir(parents=True)
    t = time.perf_counter()
    os.sync()
    settle = time.perf_counter() - t
    for root in (src, *dests):
        evict_tree(root)
    return settle


# ---------------------------------------------------------------- variants


@dataclass
class Run:
    wall: float
    user: float  # user-mode CPU seconds of this process and its children (hashing shows here)
    sys: float  # kernel CPU seconds (the IO itself: copies, page cache, file system)
    load: float  # 1-minute load average when the run started
    settle: float  # seconds the pre-run sync took
    extra: dict[str, float] = field(default_factory=dict)


def _cpu() -> tuple[float, float]:
    me = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + kids.ru_utime, me.ru_stime + kids.ru_stime


def _offload(src: Path, dests: list[Path]) -> OffloadResult:
    return offload(src, dests, hashes=["xxh128"], verify="full", ignore=[MARKER])


def _check(res: OffloadResult, n_files: int, what: str) -> None:
    if res.exit_code:
        raise SystemExit(f"{what}: offload failed with exit {res.exit_code}: {res.failures}")
    for d in res.destinations:
        if d.files_copied != n_files:
            raise SystemExit(f"{what}: {d.files_copied} of {n_files} files copied to {d.root}")


def run_rushline(src: Path, dests: list[Path], n_files: int) -> dict[str, float]:
    """The real thing; the ASC MHL writing is timed (wrapped, not replaced)."""
    spent = [0.0]
    real = mhl.write_generation

    def timed(*args: Any, **kwargs: Any) -> Path:
        t = time.perf_counter()
        try:
            return real(*args, **kwargs)
        finally:
            spent[0] += time.perf_counter() - t

    with mock.patch.object(mhl, "write_generation", timed):
        res = _offload(src, dests)
    _check(res, n_files, "rushline")
    if any(d.manifest is None for d in res.destinations):
        raise SystemExit("rushline: no ASC MHL manifest written")
    return {"mhl_s": spent[0]}


class _NullHash:
    """Stands in for XXH3-128 in the no-hash run: consumes the buffers, computes nothing."""

    def update(self, data: bytes | memoryview, /) -> None:
        pass

    def hexdigest(self) -> str:
        return NULL_DIGEST


@contextlib.contextmanager
def no_hashing() -> Iterator[None]:
    """Rushline's engine with the hash nulled and no manifest: every read, write, fsync, syncfs,
    fadvise and re-read (same buffers, same threads) happens exactly as in a real offload."""

    def no_manifest(root: str | os.PathLike[str], *_a: Any, **_k: Any) -> Path:
        return Path(root) / "(no manifest: no-hash baseline)"

    with (
        mock.patch.dict(hashing._FACTORIES, {"xxh128": _NullHash}),
        mock.patch.object(mhl, "write_generation", no_manifest),
    ):
        yield


def run_nohash(src: Path, dests: list[Path], n_files: int) -> dict[str, float]:
    with no_hashing():
        res = _offload(src, dests)
    _check(res, n_files, "no-hash")
    # fail loudly if the engine stops going through the patched hash (the ratio would lie)
    if any(f.hashes.get("xxh128") != NULL_DIGEST for f in res.files):
        raise SystemExit("no-hash: the engine did not use the null hash; fix the benchmark")
    return {}


def run_naive(src: Path, dests: list[Path], n_files: int) -> dict[str, float]:
    ascmhl = shutil.which("ascmhl") or str(Path(sys.executable).parent / "ascmhl")
    t = time.perf_counter()
    for d in dests:
        subprocess.run(["cp", "-R", "--", str(src), str(d / src.name)], check=True)
    cp_s = time.perf_counter() - t
    for d in dests:
        subprocess.run(
            [ascmhl, "create", "-h", "xxh128", "-i", MARKER, str(d / src.name)],
            check=True,
            stdout=subprocess.DEVNULL,
        )
    return {"cp_s": cp_s}


def _legacy_copy(src_file: str, outs: list[str]) -> None:
    queues: list[queue.Queue[bytes | None]] = [queue.Queue(maxsize=4) for _ in outs]
    fds = [os.open(o, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644) for o in outs]

    def writer(q: queue.Queue[bytes | None], fd: int) -> None:
        while (buf := q.get()) is not None:
            os.write(fd, buf)
        os.fsync(fd)
        evict(fd)
        os.close(fd)

    threads = [threading.Thread(target=writer, args=(q, fd)) for q, fd in zip(queues, fds)]  # noqa: B905
    for th in threads:
        th.start()
    fd = os.open(src_file, os.O_RDONLY)
    while buf := os.read(fd, CHUNK_SIZE):
        for q in queues:
            q.put(buf)
    os.close(fd)
    for q in queues:
        q.put(None)
    for th in threads:
        th.join()

    def reread(path: str) -> None:
        rfd = os.open(path, os.O_RDONLY)
        while os.read(rfd, CHUNK_SIZE):
            pass
        os.close(rfd)

    readers = [threading.Thread(target=reread, args=(o,)) for o in outs]
    for th in readers:
        th.start()
    for th in readers:
        th.join()


def run_legacy(src: Path, dests: list[Path], n_files: int) -> dict[str, float]:
    """The previous baseline, verbatim: 4 threads spawned and 2 fsyncs per file."""
    for dirpath, _dirs, names in os.walk(src):
        rel = os.path.relpath(dirpath, src)
        for d in dests:
            os.makedirs(os.path.join(d, src.name, rel), exist_ok=True)
        for n in sorted(names):
            if n != MARKER:
                _legacy_copy(
                    os.path.join(dirpath, n), [os.path.join(d, src.name, rel, n) for d in dests]
                )
    return {}


Variant = Callable[[Path, list[Path], int], dict[str, float]]


def measure(
    src: Path, dests: list[Path], n_files: int, variants: list[tuple[str, Variant]], repeat: int
) -> dict[str, list[Run]]:
    runs: dict[str, list[Run]] = {name: [] for name, _ in variants}
    for i in range(repeat):
        # rotate the order each round: whichever variant runs first after gigabytes were
        # deleted or written pays for it on a shared VM; rotation spreads that over all of them
        k = i % len(variants)
        for name, fn in variants[k:] + variants[:k]:
            settle = prepare(src, dests)
            load = os.getloadavg()[0]
            c0, t0 = _cpu(), time.perf_counter()
            extra = fn(src, dests, n_files)
            wall, c1 = time.perf_counter() - t0, _cpu()
            user, sys_ = c1[0] - c0[0], c1[1] - c0[1]
            runs[name].append(Run(wall, user, sys_, load, settle, extra))
            print(
                f"  round {i + 1}/{repeat} {name:<9} {wall:7.2f} s wall, CPU {user:5.2f} s user "
                f"{sys_:5.2f} s sys, "
                f"load {load:4.1f}, pre-run sync {settle:5.2f} s"
                + "".join(f", {k} {v:.2f}" for k, v in extra.items()),
                flush=True,
            )
    for d in dests:
        shutil.rmtree(d, ignore_errors=True)
    return runs


def med(runs: list[Run], attr: str = "wall") -> float:
    return statistics.median(getattr(r, attr) for r in runs)


def spread(runs: list[Run]) -> str:
    walls = [r.wall for r in runs]
    return f"{min(walls):.2f}-{max(walls):.2f}" if len(walls) > 1 else "-"


def warm_up(out: Path, dests: list[Path]) -> float:
    """One tiny offload per engine variant before timing anything: the first offload in a
    process pays ~2 s of imports and `tool_versions()` (ffmpeg, exiftool, MediaInfo probed
    once and cached). Unwarmed, that lands on whichever variant runs first."""
    t = time.perf_counter()
    roll = out / "cards" / "WARM_W001"
    for i in range(2):
        _write_random(roll / f"W{i}.MXF", 64 * 1024)
    for fn in (run_rushline, run_nohash):
        prepare(roll, dests)
        fn(roll, dests, 2)
    return time.perf_counter() - t


def same_device(paths: list[Path]) -> bool:
    return len({p.stat().st_dev for p in paths}) == 1


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="~200 MB and 1 000 small files")
    ap.add_argument("--out", type=Path, default=OUT, help="scratch folder (git-ignored)")
    ap.add_argument("--repeat", type=int, help="rounds (default 3, 1 with --quick)")
    ap.add_argument("--legacy", action="store_true", help="also run the old no-hash replica")
    args = ap.parse_args(argv)
    repeat = args.repeat or (1 if args.quick else 3)
    big_total = 200_000_000 if args.quick else 2_200_000_000
    big_files = 4 if args.quick else 8
    small_n = 1_000 if args.quick else 10_000
    src_root, dest_root = args.out / "cards", args.out / "dest"
    print(f"preparing {big_total / 1e9:.1f} GB in {big_files} clips and {small_n} small files …")
    big = make_big_roll(src_root, big_total, big_files)
    small = make_small_roll(src_root, small_n)
    dests = [dest_root / "drive1", dest_root / "drive2"]
    for d in dests:
        d.mkdir(parents=True, exist_ok=True)
    one_device = same_device([src_root, *dests])
    warm = warm_up(args.out, dests)

    variants: list[tuple[str, Variant]] = [
        ("no-hash", run_nohash),
        ("rushline", run_rushline),
        ("naive", run_naive),
    ]
    if args.legacy:
        variants.append(("legacy", run_legacy))
    load0 = os.getloadavg()
    print(
        f"{os.cpu_count()} CPUs, load average {load0[0]:.2f} {load0[1]:.2f} {load0[2]:.2f}; "
        f"{repeat} round(s), order rotated each round"
    )
    print(
        "warm-up (imports, tool versions for the report: once per process, not timed): "
        f"{warm:.2f} s"
    )

    rows = []
    for label, src in (("clips", big), ("small files", small)):
        n, size = count_files(src)
        print(f"{label}: {n} files, {size / 1e9:.2f} GB")
        rows.append((label, n, size, measure(src, dests, n, variants, repeat)))

    names = [name for name, _ in variants]
    print()
    print("median wall seconds (min-max over rounds):")
    print(
        f"{'roll':<12} {'files':>6} {'GB':>5} "
        + " ".join(f"{n:>20}" for n in names)
        + f" {'rl/no-hash':>11} {'naive/rl':>9}"
    )
    for label, n, size, runs in rows:
        cells = " ".join(f"{med(runs[v]):>6.2f} ({spread(runs[v]):>11})" for v in names)
        rl, nh, nv = med(runs["rushline"]), med(runs["no-hash"]), med(runs["naive"])
        print(f"{label:<12} {n:>6} {size / 1e9:>5.2f} {cells} {rl / nh:>11.2f} {nv / rl:>9.2f}")
    print()
    print("median CPU seconds, user / kernel (this process + children; hashing is user time):")
    for label, _n, _size, runs in rows:
        print(
            f"  {label:<12} "
            + ", ".join(
                f"{v} {med(runs[v], 'user'):.2f} / {med(runs[v], 'sys'):.2f}" for v in names
            )
        )

    def paired(runs: dict[str, list[Run]]) -> str:
        """rushline / no-hash within each round (same load, same neighbours), min-max."""
        r = [a.wall / b.wall for a, b in zip(runs["rushline"], runs["no-hash"], strict=True)]
        return f"{min(r):.2f}-{max(r):.2f}" if len(r) > 1 else f"{r[0]:.2f}"

    (_, _, big_size, clips), (_, n_small, _, small_t) = rows
    rl_c, nh_c = med(clips["rushline"]), med(clips["no-hash"])
    rl_s, nh_s = med(small_t["rushline"]), med(small_t["no-hash"])
    mhl_c = statistics.median(r.extra["mhl_s"] for r in clips["rushline"])
    mhl_s = statistics.median(r.extra["mhl_s"] for r in small_t["rushline"])
    user_s = med(small_t["rushline"], "user") - med(small_t["no-hash"], "user")
    print()
    print(
        f"clips: rushline {big_size / 1e6 / rl_c:.0f} MB/s of roll (each byte read once, "
        f"written twice, re-read twice); of which ASC MHL writing {mhl_c:.2f} s"
    )
    print(
        f"goal rushline/no-hash <= 1.10 : {rl_c / nh_c:.2f} clips (ratio of medians; per round "
        f"{paired(clips)}), {rl_s / nh_s:.2f} small files (per round {paired(small_t)})"
    )
    print(
        f"goal naive/rushline  >= 1.50 : {med(clips['naive']) / rl_c:.2f} (clips), "
        f"{med(small_t['naive']) / rl_s:.2f} (small files)"
    )
    per_file = (rl_s - nh_s) / n_small * 1000
    print(
        f"goal per-file overhead <= 2 ms: {per_file:.2f} ms wall (rushline "
        f"{rl_s / n_small * 1000:.2f} ms/file total, no-hash engine "
        f"{nh_s / n_small * 1000:.2f} ms/file); user CPU {user_s / n_small * 1000:.2f} ms/file; "
        f"ASC MHL writing {mhl_s / n_small * 1000:.2f} ms/file"
    )
    print(
        "note: differences smaller than the per-round spread are noise; the no-hash engine "
        "still carries Rushline's own per-file bookkeeping (records, renames, lock, scan)."
    )
    load1 = os.getloadavg()
    print(
        f"load average at the end {load1[0]:.2f} {load1[1]:.2f} {load1[2]:.2f} on "
        f"{os.cpu_count()} CPUs (another user's work competes for CPU and disk when > 0)"
    )
    if one_device:
        print(
            "note: source and both destinations are on ONE device here, so reads, both "
            "copies and both re-reads compete for the same disk; on a real cart each "
            "destination is its own drive."
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
