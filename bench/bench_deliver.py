"""Deliver (encode + closed-loop QC) vs the encode alone, same ffmpeg settings, same run.

    python -m bench.bench_deliver [--seconds 20] [--profile web-h264]

Makes a ~20 s 1080i25 master, delivers it (normalise, encode, QC the deliverable), then runs
the very same ffmpeg command again on its own (same inputs: the normalised WAV and the slate
are kept for it). Prints both times and the ratio; the goal is <= 1.3x.
"""

from __future__ import annotations

import argparse
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


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=20.0)
    ap.add_argument("--profile", default="web-h264")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        master = make_master(root / "BENCH_MASTER.mov", args.seconds)
        kept: dict[str, list[str]] = {}
        real_rmtree = deliver_run.shutil.rmtree
        # keep the work folder (WAV, slate) so the same command can run again on its own
        deliver_run.shutil.rmtree = lambda p, **kw: kept.setdefault("work", [str(p)])  # type: ignore[assignment]
        try:
            t0 = time.monotonic()
            d = deliver_run.deliver_one(
                master, load_profile(args.profile), deliver_run.Options(out_dir=root / "out")
            )
            deliver_s = time.monotonic() - t0
        finally:
            deliver_run.shutil.rmtree = real_rmtree  # type: ignore[assignment]
        assert d.status == "delivered", d.error
        again = root / "again.out"
        cmd = [*d.command[:-1], "file:" + str(again)]
        t0 = time.monotonic()
        run_encode(cmd, again, what="bench encode alone")
        encode_s = time.monotonic() - t0
    print(f"profile {args.profile}, master {args.seconds:g} s 1080i25")
    print(f"deliver (normalise + encode + closed-loop QC): {deliver_s:.1f} s")
    print(f"  of which encode {d.encode_s:.1f} s, QC {d.qc_s:.1f} s")
    print(f"encode alone, same command:                    {encode_s:.1f} s")
    print(f"ratio deliver / encode alone: {deliver_s / encode_s:.2f}x (goal <= 1.3x)")
    print(f"ratio (encode + QC) / encode: {(d.encode_s + d.qc_s) / d.encode_s:.2f}x")


if __name__ == "__main__":
    main()
