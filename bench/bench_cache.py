"""QC cache: a re-run of an unchanged file against the full QC it replaces.

    python -m bench.bench_cache            # the 60 s 1080p25 ProRes 422 HQ master of bench_qc
    python -m bench.bench_cache --quick    # the 15 s one

On the same master, in one run, with a cache in a fresh temporary folder:
  full      QC with the cache off (`qc_to_reports(..., cache=False)`), the work a hit saves;
  first     QC with the cache on, nothing cached yet: the full QC plus hashing the file and
            writing the entry (the price of caching);
  touched   the file's mtime changed, its bytes not: the content is hashed again, then a hit;
  cached    the re-run: stat signature unchanged, so no hashing and no decoding.

Each report (JSON and HTML with thumbnails) is written every time, as `rushline qc` does.
Goal (issue 13): cached < 1 s. The ratio full / cached is printed.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from bench.bench_qc import make_master
from pipeline.profiles import load_profile
from pipeline.qc.outputs import plan_outputs, qc_to_reports
from pipeline.tools import tool_versions

GOAL_S = 1.0
PROFILE = "netflix-prores-hq"


def _timed(fn: Callable[[], object], repeat: int) -> tuple[float, object]:
    times, out = [], None
    for _ in range(repeat):
        started = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times), out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="the 15 s master")
    parser.add_argument("--repeat", type=int, default=5, help="cached re-runs (median)")
    args = parser.parse_args(argv)
    master = make_master(15 if args.quick else 60)
    profile = load_profile(PROFILE)
    tools = tool_versions()
    work = Path(tempfile.mkdtemp(prefix="rushline-bench-cache-"))
    old = os.environ.get("RUSHLINE_CACHE")
    os.environ["RUSHLINE_CACHE"] = str(work / "cache")
    runs = iter(range(10_000))

    def qc(cache: bool) -> object:
        out = work / f"run{next(runs)}"
        plan = plan_outputs([master], json_out=out / "r.json", html_out=out / "r.html")
        return qc_to_reports(plan.targets[0], profile, overwrite=True, tools=tools, cache=cache)

    try:
        full, _ = _timed(lambda: qc(False), 2)  # median of 2: the first also warms imports
        first, r1 = _timed(lambda: qc(True), 1)
        os.utime(master)  # a new stat signature, the same bytes
        touched, r2 = _timed(lambda: qc(True), 1)
        cached, r3 = _timed(lambda: qc(True), args.repeat)
    finally:
        shutil.rmtree(work, ignore_errors=True)
        if old is None:
            os.environ.pop("RUSHLINE_CACHE", None)
        else:
            os.environ["RUSHLINE_CACHE"] = old
    flags = [getattr(r, "cached", None) for r in (r1, r2, r3)]
    size = master.stat().st_size / 1e9
    print(f"master: {master.name} ({size:.2f} GB), profile {PROFILE}; cached flags {flags}")
    print(f"{'run':<10}{'seconds':>10}")
    for name, secs in (("full", full), ("first", first), ("touched", touched), ("cached", cached)):
        print(f"{name:<10}{secs:>10.3f}")
    print(f"full / cached = {full / cached:.0f}x; first / full = {first / full:.2f} (hash + store)")
    ok = cached < GOAL_S and flags == [False, True, True]
    print(f"goal cached < {GOAL_S:.0f} s: {'met' if ok else 'NOT met'}")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
