"""Deliver (normalise + encode + closed-loop QC) vs the encode alone, same ffmpeg command.

    python -m bench.bench_deliver [--seconds 20] [--profile web-h264] [--repeats 3]

Makes a ~20 s 1080i25 master, then alternates the two variants `--repeats` times (deliver,
encode alone, deliver, encode alone...) so a change of machine load hits both alike:
- deliver: `deliver_one` (plan, normalise the sound, the lossy-codec loudness check, encode,
  QC the deliverable with one decode);
- encode alone: the very command that deliver ran (picture and sound: the same normalised WAV,
  slate and gain are kept for it), run again on its own.
Prints the load average before and after every run, the medians and their ratio (goal <= 1.3x),
and where deliver's time goes (median of each part).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

from pipeline import tools
from pipeline.deliver import run as deliver_run
from pipeline.deliver.encode import run_encode
from pipeline.profiles import load_profile


def make_master(dest: Path, seconds: float) -> Path:
    exprs = "|".join(f"0.1*sin(2*PI*{220 * (i + 2)}*t)*(0.6+0.4*sin(3*t))" for i in range(4))
    tools.run(
        [tools.ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-y",
         "-f", "lavfi", "-i", f"testsrc2=size=1920x1080:rate=25:d={seconds}",
         "-f", "lavfi", "-i", f"aevalsrc={exprs}:c=4c:s=48000:d={seconds}",
         "-vf", "setfield=tff,scale=out_color_matrix=bt709:out_range=tv,format=yuv422p",
         "-c:v", "mpeg2video", "-b:v", "30M", "-flags", "+ildct+ilme", "-c:a", "pcm_s24le",
         str(dest)],
        what="making the bench master",
    )  # fmt: skip
    return dest


def load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def deliver_once(master: Path, profile: str, out: Path, kept: list[str]) -> tuple[float, dict]:
    """One deliver; the work folder (WAV, slate) is kept so its command can run again."""
    real = deliver_run.shutil.rmtree
    deliver_run.shutil.rmtree = lambda p, **kw: kept.append(str(p))  # type: ignore[assignment]
    try:
        t0 = time.monotonic()
        d = deliver_run.deliver_one(
            master, load_profile(profile), deliver_run.Options(out_dir=out, force=True)
        )
        elapsed = time.monotonic() - t0
    finally:
        deliver_run.shutil.rmtree = real  # type: ignore[assignment]
    assert d.status == "delivered", d.error
    codec = (d.normalisation or {}).get("codec_correction") or {}
    parts = {
        "encode": d.encode_s or 0.0,
        "qc": d.qc_s or 0.0,
        "codec check": codec.get("elapsed_s", 0.0),
        "command": d.command,
    }
    parts["rest (plan, normalise, slate, place)"] = (
        elapsed - parts["encode"] - parts["qc"] - parts["codec check"]
    )
    return elapsed, parts


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=20.0)
    ap.add_argument("--profile", default="web-h264")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--quick", action="store_true", help="an 8 s master, 2 repeats")
    args = ap.parse_args(argv)
    if args.quick:
        args.seconds, args.repeats = 8.0, 2
    print(f"profile {args.profile}, master {args.seconds:g} s 1080i25, {args.repeats} repeats")
    print(f"load average (1, 5, 15 min) at start: {load()}")
    deliver_s: list[float] = []
    encode_s: list[float] = []
    parts: list[dict] = []
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        master = make_master(root / "BENCH_MASTER.mov", args.seconds)
        kept: list[str] = []
        for i in range(args.repeats):
            before = load()
            took, p = deliver_once(master, args.profile, root / "out", kept)
            deliver_s.append(took)
            parts.append(p)
            print(f"  deliver #{i + 1}: {took:6.1f} s  (load {before} -> {load()})")
            again = root / f"again{Path(p['command'][-1]).suffix}"
            cmd = [*p["command"][:-1], "-y", "file:" + str(again)]
            before = load()
            t0 = time.monotonic()
            run_encode(cmd, again, what="bench encode alone")
            encode_s.append(time.monotonic() - t0)
            print(f"  encode  #{i + 1}: {encode_s[-1]:6.1f} s  (load {before} -> {load()})")
    med_d, med_e = statistics.median(deliver_s), statistics.median(encode_s)
    print(f"deliver, median:                  {med_d:.1f} s")
    print(f"encode alone (same cmd), median:  {med_e:.1f} s")
    print(f"ratio deliver / encode alone: {med_d / med_e:.2f}x (goal <= 1.3x)")
    print("deliver's parts (median):")
    for key in ("encode", "qc", "codec check", "rest (plan, normalise, slate, place)"):
        print(f"  {key:38s} {statistics.median(p[key] for p in parts):6.1f} s")
    print(f"load average at end: {load()}")
    return 0 if med_d / med_e <= 1.3 else 1


if __name__ == "__main__":
    sys.exit(main())
