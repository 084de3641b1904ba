"""Split QC of a long master on a local Dask cluster: 1 worker vs 2, against one pass, and cached.

    python -m bench.bench_split            # a 5-minute 1080p25 XDCAM HD422-style master
    python -m bench.bench_split --quick    # the same master, 60 s long

The master (MPEG-2 4:2:2 long GOP at 50 Mb/s in MXF, the French PAD's usual codec, with
stereo programme sound) is made once into bench/out/split. In the same run, on one machine:
  one pass    `qc_file`: the QC a single process makes (the baseline);
  split 1w    `--split 2` on a local cluster with one worker process;
  split 2w    the same with two worker processes;
  cached      `--split 2` again on the unchanged file (the cache answers; goal < 1 s).
Printed: the speed-up of 2 workers over 1 and over one pass, the split's own overhead
(split 1w / one pass), the cached time, and whether the merged results equal the one pass.
On this 2-core machine each ffmpeg decode already uses both cores, so the speed-up measures
what splitting adds on top of frame threads; on separate machines the segments do not share
cores and the split scales with the workers until the shared storage's bandwidth is the limit.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path
from typing import Any

OUT = Path(__file__).resolve().parent / "out" / "split"
PROFILE = "ebu-r128"
GOAL_CACHED_S = 1.0


def make_master(seconds: int) -> Path:
    from pipeline.tools import ffmpeg_exe, run

    dest = OUT / f"master_{seconds}s_xdcam422.mxf"
    if dest.exists():
        return dest
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(dest.stem + ".part.mxf")
    graph = (
        f"testsrc2=s=1920x1080:r=25:d={seconds},format=yuv422p[v];"
        f"anoisesrc=c=pink:a=0.05:r=48000:d={seconds}:seed=3,"
        "aformat=channel_layouts=mono,asplit=2[l][r];"
        "[l][r]join=inputs=2:channel_layout=stereo[a]"
    )
    cmd = [ffmpeg_exe(), "-hide_banner", "-v", "error", "-y", "-filter_complex", graph,
           "-map", "[v]", "-map", "[a]", "-c:v", "mpeg2video", "-b:v", "50M", "-minrate", "50M",
           "-maxrate", "50M", "-bufsize", "17825792", "-g", "12", "-bf", "2",
           "-c:a", "pcm_s24le", "-f", "mxf", str(tmp)]  # fmt: skip
    run(cmd, what="making the split benchmark master", timeout=3600)
    os.replace(tmp, dest)
    return dest


def _essentials(r: Any) -> tuple[Any, ...]:
    loud = r.measurements.get("loudness") or {}
    finds = [(f.check, f.severity.value, f.start_s, f.end_s) for f in r.findings]
    return r.verdict.value, loud.get("integrated_lufs"), loud.get("true_peak_dbtp"), finds


def _warm_up() -> None:
    """Runs on each worker: what a first segment would import (OpenCV, SciPy, the checks)."""
    import importlib

    for name in ("pipeline.qc.split", "pipeline.qc.run", "pipeline.qc.picture",
                 "pipeline.qc.sound", "pipeline.qc.loudness", "pipeline.probe"):  # fmt: skip
        importlib.import_module(name)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a 60 s master")
    parser.add_argument("--segments", type=int, default=2)
    args = parser.parse_args(argv)
    os.environ.setdefault("RUSHLINE_CATALOG", "off")
    from pipeline.cluster import LocalDask, connect, span_measurer
    from pipeline.profiles import load_profile
    from pipeline.qc.outputs import plan_outputs
    from pipeline.qc.run import qc_file
    from pipeline.qc.splitrun import split_to_reports

    master = make_master(60 if args.quick else 300)
    profile = load_profile(PROFILE)
    print(f"master: {master.name} ({master.stat().st_size / 1e9:.2f} GB), profile {PROFILE}")
    _warm_up()  # the one pass, too, is timed without the first imports
    t0 = time.perf_counter()
    one = qc_file(master, profile)
    one_s = time.perf_counter() - t0
    times: dict[str, float] = {"one pass": one_s}
    same = True
    with tempfile.TemporaryDirectory(prefix="rushline-bench-split-") as tmp:
        target = plan_outputs([master], json_out=Path(tmp) / "r.json", html_out=None).targets[0]
        with LocalDask(Path(tmp) / "dask") as local:
            local.start(1)
            for label in ("split 1w", "split 2w", "cached"):
                if label == "split 2w":
                    local.add_worker()
                client = connect(local.address)
                try:
                    client.wait_for_workers(len(local.workers), timeout=60)
                    client.run(_warm_up)  # a fresh worker imports the QC before its first task
                    measure_all = span_measurer(client)
                    t0 = time.perf_counter()
                    # each measured run hashes the file and fills a fresh cache (as a first
                    # run does); the cached run reads what the 2-worker run stored
                    store = "c1" if label == "split 1w" else "c2"
                    os.environ["RUSHLINE_CACHE"] = str(Path(tmp) / store)
                    r = split_to_reports(
                        target, PROFILE, args.segments, overwrite=True, measure_all=measure_all,
                    )  # fmt: skip
                    t = time.perf_counter() - t0
                finally:
                    client.close()
                times[label] = t
                same = same and _essentials(r) == _essentials(one)
                came = " (cached)" if r.cached else ""
                print(f"  {label:9s} {t:7.2f} s  {r.verdict.value}{came}")
    print(f"  one pass  {one_s:7.2f} s  {one.verdict.value}")
    print(f"speed-up 2 workers / 1 worker: {times['split 1w'] / times['split 2w']:.2f}x")
    print(f"split 2 workers vs one pass:  {one_s / times['split 2w']:.2f}x")
    print(f"split overhead (1 worker / one pass): {times['split 1w'] / one_s:.2f}x")
    ok = times["cached"] < GOAL_CACHED_S
    verdict = "met" if ok else "NOT met"
    print(f"cached re-run: {times['cached']:.3f} s (goal < {GOAL_CACHED_S:.0f} s: {verdict})")
    print(f"merged results equal the one pass: {'yes' if same else 'NO'}")
    return 0 if same else 1


if __name__ == "__main__":
    raise SystemExit(main())
