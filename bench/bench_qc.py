"""QC speed: Rushline's one-pass QC vs ffmpeg decode-only, and vs ffmpeg's checks run one by one.

    python -m bench.bench_qc            # 60 s 1080p25 ProRes 422 HQ master, stereo 24-bit
    python -m bench.bench_qc --quick    # 15 s, < 1 min once the master exists

Three measurements on the same master, in the same run:
  decode    `ffmpeg -i MASTER -map 0:v -map 0:a -f null -`: decoding picture and sound, nothing
            else (the floor for any QC that looks at every frame);
  rushline  `pipeline.qc.run.qc_file` with the netflix-prores-hq profile (format, loudness with
            true peak, black, freeze, levels/gamut, flashes, interlace, silence, clipping, phase)
            plus its probe;
  separate  what a script over ffmpeg's own filters does: ebur128 (true peak), blackdetect,
            freezedetect, silencedetect and signalstats, each its own decoding pass.

Goals (issue 4, issue 11): rushline / decode <= 1.25; separate / rushline reported as the
speed-up. Wall time on a shared machine is noisy: the three runs that make the ratio alternate in
a rotating order, each is repeated --repeat times and the table shows medians (wall and CPU time,
user + sys of this process and its children), with the load average before and after, so a
reader can tell a quiet measurement from a busy one. The ratios are medians of per-round ratios.
CPU time is the steadier figure: on 2 cores decode-only already keeps both busy (ProRes frame
threads), so the wall ratio of an idle machine tends to the CPU ratio. --max-load waits for a
quieter moment first.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from pipeline.tools import ffmpeg_exe, ffmpeg_input

OUT = Path(__file__).resolve().parent / "out" / "qc"
GOAL = 1.25


def make_master(seconds: int) -> Path:
    """A 1080p25 ProRes 422 HQ master with programme-like sound (pink noise at about -23 LUFS
    with a tone), built once and kept in bench/out."""
    dest = OUT / f"master_{seconds}s_prores_hq.mov"
    if dest.exists():
        return dest
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_suffix(".part.mov")
    graph = (
        f"testsrc2=s=1920x1080:r=25:d={seconds},format=yuv422p10le[v];"
        f"anoisesrc=c=pink:a=0.06:r=48000:d={seconds}:seed=1,"
        f"aformat=channel_layouts=mono,asplit=2[n1][n2];"
        f"sine=f=220:r=48000:d={seconds},volume=0.03,asplit=2[t1][t2];"
        "[n1][t1]amix=inputs=2:normalize=0[l];[n2][t2]amix=inputs=2:normalize=0[r];"
        "[l][r]join=inputs=2:channel_layout=stereo[a]"
    )
    cmd = [
        ffmpeg_exe(), "-hide_banner", "-v", "error", "-y", "-filter_complex", graph,
        "-map", "[v]", "-map", "[a]", "-c:v", "prores", "-profile:v", "3",
        "-color_primaries", "bt709", "-color_trc", "bt709", "-colorspace", "bt709",
        "-c:a", "pcm_s24le", str(tmp),
    ]  # fmt: skip
    print(f"building the {seconds} s ProRes 422 HQ master (once)…", flush=True)
    subprocess.run(cmd, check=True)
    tmp.rename(dest)
    return dest


def _cpu() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def timed(fn: Callable[[], object], repeat: int) -> tuple[float, float]:
    """Best wall time and its CPU time over `repeat` runs."""
    best = (float("inf"), 0.0)
    for _ in range(repeat):
        c0, t0 = _cpu(), time.perf_counter()
        fn()
        wall, cpu = time.perf_counter() - t0, _cpu() - c0
        if wall < best[0]:
            best = (wall, cpu)
    return best


def _ffmpeg(args: list[str]) -> None:
    subprocess.run(
        [ffmpeg_exe(), "-hide_banner", "-nostdin", "-nostats", "-v", "error", *args],
        check=True,
        stdout=subprocess.DEVNULL,
    )


def decode_only(master: Path) -> None:
    _ffmpeg(["-i", ffmpeg_input(master), "-map", "0:v", "-map", "0:a", "-f", "null", "-"])


def idle_pass(master: Path) -> None:
    """Rushline's decode pass (scale, idet, pipes) with sinks that do nothing: the part of
    the QC time that is ffmpeg's, the rest being the checks in Python."""
    from pipeline.qc.decode import decode_pass, probe_layout

    layout = probe_layout(master)
    decode_pass(layout, on_frame=lambda i, p: None, on_audio=lambda b: None)


SEPARATE = {
    "ebur128": ["-map", "0:a", "-af", "ebur128=peak=true", "-f", "null", "-"],
    "blackdetect": ["-map", "0:v", "-vf", "blackdetect=d=0.2", "-f", "null", "-"],
    "freezedetect": ["-map", "0:v", "-vf", "freezedetect=d=2", "-f", "null", "-"],
    "silencedetect": ["-map", "0:a", "-af", "silencedetect=d=2", "-f", "null", "-"],
    "signalstats": ["-map", "0:v", "-vf", "signalstats", "-f", "null", "-"],
}


def wait_for_quiet(max_load: float, patience_s: float) -> None:
    """Wait (at most `patience_s`) until the 1-minute load average falls to `max_load`: on a
    machine shared with other jobs, a quieter moment gives steadier numbers."""
    deadline = time.monotonic() + patience_s
    while os.getloadavg()[0] > max_load and time.monotonic() < deadline:
        time.sleep(5)


def alternate(
    variants: list[tuple[str, Callable[[], object]]], repeat: int
) -> dict[str, list[tuple[float, float]]]:
    """(wall, cpu) of every run; the variants rotate so a burst of load from other processes
    on a shared machine does not land on one of them only."""
    times: dict[str, list[tuple[float, float]]] = {name: [] for name, _ in variants}
    n = len(variants)
    for k in range(repeat):
        for name, fn in variants[k % n :] + variants[: k % n]:
            times[name].append(timed(fn, 1))
    return times


def _ratios(times: dict[str, list[tuple[float, float]]], a: str, b: str, i: int) -> list[float]:
    return [x[i] / y[i] for x, y in zip(times[a], times[b], strict=True)]


def report_ratio(times: dict[str, list[tuple[float, float]]], qc: str, base: str) -> None:
    """Wall and CPU ratios of QC to decode-only: the median of the per-round ratios (each
    round's runs sit close together in time, so they share the machine's load). The goal is
    judged on CPU time: the wall ratio moves with the other jobs on a shared machine."""
    cpu = statistics.median(_ratios(times, qc, base, 1))
    for i, what in ((1, "cpu "), (0, "wall")):
        per_round = _ratios(times, qc, base, i)
        print(f"{what}: rushline / decode-only = {statistics.median(per_round):5.2f}x")
        print(f"      per round: {', '.join(f'{r:.2f}' for r in per_round)}")
    print(f"goal <= {GOAL:.2f}x (on cpu time): {'MET' if cpu <= GOAL else 'NOT MET'}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="15 s master instead of 60 s")
    parser.add_argument("--seconds", type=int, default=None, help="master length")
    parser.add_argument("--repeat", type=int, default=None, help="median of N (default 5, quick 3)")
    parser.add_argument(
        "--no-separate", action="store_true", help="skip the five separate ffmpeg passes"
    )
    parser.add_argument(
        "--max-load", type=float, default=None, help="wait (up to 5 min) for this 1-min load"
    )
    args = parser.parse_args(argv)
    seconds = args.seconds or (15 if args.quick else 60)
    repeat = args.repeat or (3 if args.quick else 5)
    os.environ.setdefault("DO_NOT_TRACK", "1")

    from pipeline.profiles import load_profile
    from pipeline.qc.run import qc_file

    master = make_master(seconds)
    profile = load_profile("netflix-prores-hq")
    holder: dict[str, object] = {}

    def rushline() -> None:
        holder["result"] = qc_file(master, profile)

    # warm the page cache and the code paths once so no run pays for the first read (nor the
    # first QC for importing OpenCV and the checks: a cost per process, not per file)
    decode_only(master)
    rushline()
    if args.max_load is not None:
        wait_for_quiet(args.max_load, 300.0)
    variants: list[tuple[str, Callable[[], object]]] = [
        ("ffmpeg decode-only (-f null)", lambda: decode_only(master)),
        ("rushline qc (one pass)", rushline),
        ("  of which: the pass with idle checks", lambda: idle_pass(master)),
    ]
    load_before = os.getloadavg()
    times = alternate(variants, repeat)
    rows = [
        (name, statistics.median(w for w, _ in runs), statistics.median(c for _, c in runs))
        for name, runs in times.items()
    ]
    load_after = os.getloadavg()
    sep_wall = sep_cpu = 0.0
    for name, extra in {} if args.no_separate else SEPARATE.items():
        wall, cpu = timed(lambda extra=extra: _ffmpeg(["-i", ffmpeg_input(master), *extra]), 1)
        rows.append((f"  ffmpeg {name} pass", wall, cpu))
        sep_wall += wall
        sep_cpu += cpu
    if not args.no_separate:
        rows.append(("ffmpeg checks as separate passes", sep_wall, sep_cpu))

    print()
    print(f"QC benchmark: {master.name} ({seconds} s 1080p25 ProRes 422 HQ, stereo 48 kHz/24)")
    print(
        f"median of {repeat} alternating rounds; cpu = user + sys of this process and its children"
    )
    print(f"{'run':40s} {'wall s':>8s} {'cpu s':>8s} {'x realtime':>11s}")
    for name, wall, cpu in rows:
        print(f"{name:40s} {wall:8.2f} {cpu:8.2f} {seconds / wall:11.1f}")
    print()
    report_ratio(times, variants[1][0], variants[0][0])
    idle = statistics.median(_ratios(times, variants[2][0], variants[0][0], 1))
    print(f"cpu: idle-check pass / decode-only = {idle:5.2f}x  ({os.cpu_count()} cores)")
    if not args.no_separate:
        print(f"separate passes / rushline = {sep_wall / rows[1][1]:5.2f}x speed-up (wall)")
    fmt = ", ".join
    print(
        f"load average before: {fmt(f'{x:.2f}' for x in load_before)}; "
        f"after: {fmt(f'{x:.2f}' for x in load_after)}"
    )
    result = holder["result"]
    verdict = getattr(result, "verdict", None)
    print(f"(QC verdict {getattr(verdict, 'value', verdict)}, {len(result.findings)} findings)")  # type: ignore[attr-defined]
    return 0


if __name__ == "__main__":
    sys.exit(main())
