"""Batch QC on a local Dask cluster: 1 worker vs 2 workers, and the cluster's cost per task.

    python -m bench.bench_cluster            # 11 files (sample clips and two masters), 3 rounds
    python -m bench.bench_cluster --quick    # 8 sample clips, 1 round

A scheduler and worker processes (`dask` CLI, one thread each, started with `tools.spawn`) on
127.0.0.1; the same batch is QC'd (profile ebu-r128, JSON reports) three ways in each round:
  local      the CLI's local path: `qc_file` one file after the other in this process;
  1 worker   `pipeline.cluster.qc_batch` with one worker process;
  2 workers  the same with a second worker process.
Printed: the speed-up of 2 workers over 1 (on a 2-core machine, at most ~2x, less when the
machine is shared), and the cluster's overhead per task: (1 worker - local) / files, and the
round trip of an empty task (submit, run, gather) over 50 of them. Goal: < 0.5 s per task.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

GOAL_OVERHEAD_S = 0.5


def batch_files(quick: bool) -> list[Path]:
    import sample_media

    root = Path(os.environ.get("RUSHLINE_SAMPLES", Path(__file__).parents[1] / "sample_media/out"))
    sample_media.ensure(root)
    cards = root / "cards"
    clips = sorted(cards.glob("A_XDCAM/**/C*.MP4")) + sorted(cards.glob("B_A001/**/*.mov"))
    clips += sorted(cards.glob("C_SOUND/**/*.WAV"))
    if quick:
        return clips[:8]
    return clips + [root / "masters/PROMO_MASTER.mxf", root / "masters/WEB_MASTER.mp4"]


def timed(fn: Callable[[], object]) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="8 clips, one round")
    parser.add_argument("--rounds", type=int, default=None, help="median of N (default 3)")
    args = parser.parse_args(argv)
    rounds = args.rounds or (1 if args.quick else 3)
    os.environ.setdefault("DO_NOT_TRACK", "1")
    os.environ.setdefault("RUSHLINE_CATALOG", "off")
    # every run measures: the workers (which inherit this) must not answer from the QC cache
    os.environ["RUSHLINE_CACHE"] = "off"

    from pipeline.cluster import LocalDask, connect, qc_batch, run_each
    from pipeline.profiles import load_profile
    from pipeline.qc.outputs import plan_outputs
    from pipeline.qc.run import qc_file

    files = batch_files(args.quick)
    profile = load_profile("ebu-r128")
    work = Path(tempfile.mkdtemp(prefix="bench-cluster-"))
    plan = plan_outputs(files, json_out=work / "reports", html_out=None)
    print(f"{len(files)} files, {sum(f.stat().st_size for f in files) / 1e6:.0f} MB; "
          f"load {os.getloadavg()[0]:.1f}", flush=True)  # fmt: skip
    times: dict[str, list[float]] = {"local": [], "1 worker": [], "2 workers": []}
    with LocalDask(work / "dask").start(1) as local:
        client = connect(local.address, timeout=60)
        try:
            # imports and caches paid once per process, before any timing, here and there
            qc_file(files[0], profile)
            client.run(qc_file, str(files[0]), profile)
            empty = timed(lambda: list(run_each(client, os.path.exists,
                                                [(str(f),) for f in files * 50][:50],
                                                label="empty")))  # fmt: skip
            cluster = lambda: qc_batch(client, plan, profile, overwrite=True)  # noqa: E731
            for _ in range(rounds):
                times["local"].append(timed(lambda: [qc_file(f, profile) for f in files]))
                times["1 worker"].append(timed(cluster))
            local.add_worker()
            client.wait_for_workers(2, timeout=60)
            client.run(qc_file, str(files[0]), profile)
            for _ in range(rounds):
                times["2 workers"].append(timed(cluster))
        finally:
            client.close()
    med = {k: statistics.median(v) for k, v in times.items()}
    for name, t in med.items():
        print(f"{name:>10}: {t:6.1f} s  ({', '.join(f'{x:.1f}' for x in times[name])})")
    per_task = (med["1 worker"] - med["local"]) / len(files)
    print(f"speed-up, 2 workers / 1 worker: {med['1 worker'] / med['2 workers']:.2f}x")
    print(f"cluster / local (1 worker): {med['1 worker'] / med['local']:.2f}x")
    print(f"overhead per task: {per_task:+.3f} s (QC batch), {empty / 50:.3f} s (empty task)")
    met = per_task < GOAL_OVERHEAD_S
    print(f"goal < {GOAL_OVERHEAD_S} s per task: {'MET' if met else 'NOT MET'}; "
          f"load {os.getloadavg()[0]:.1f}")  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
