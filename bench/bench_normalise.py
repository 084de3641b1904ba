"""Loudness normalisation: Rushline's normalise_audio against ffmpeg-normalize (two-pass
`loudnorm`), same master, same targets, measured in the same run.

    python -m bench.bench_normalise            # 10-minute stereo 48 kHz programme
    python -m bench.bench_normalise --quick    # 1 minute

Two deliveries of the bench_loudness programme (notes, noise hits, a quiet bridge; about
-19 LUFS with peaks near -2 dBFS):
- "platform": -14 LUFS, -1 dBTP: linear gain would break the ceiling (limiter needed);
- "broadcast": -23 LUFS, -1 dBTP: linear gain alone is enough.

Printed per case: wall time of each and their ratio; the final integrated loudness error of
each output by our meter and by ffmpeg's ebur128, and its true peak. Goal: Rushline faster,
and within ±0.1 LU where ffmpeg-normalize is not.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import sys
import time
from pathlib import Path

import numpy as np

from bench.bench_loudness import write_programme
from pipeline.deliver.loudnorm import normalise_audio
from pipeline.qc.loudness import LoudnessMeter
from pipeline.tools import ffmpeg_exe, ffmpeg_input, run

OUT = Path(__file__).resolve().parent / "out" / "normalise"
CASES = {"platform": (-14.0, -1.0), "broadcast": (-23.0, -1.0)}


def ffmpeg_normalize_exe() -> str:
    found = shutil.which("ffmpeg-normalize") or str(
        Path(sys.executable).with_name("ffmpeg-normalize")
    )
    if not Path(found).is_file():
        raise SystemExit("ffmpeg-normalize is not installed: pip install -e '.[dev]'")
    return found


def run_ffmpeg_normalize(master: Path, target: float, ceiling: float, out: Path) -> None:
    """Its documented EBU mode (two-pass loudnorm), float WAV out like ours."""
    os.environ["FFMPEG_PATH"] = ffmpeg_exe()  # the same ffmpeg build for both
    cmd = [
        ffmpeg_normalize_exe(), str(master), "-o", str(out), "-f", "-nt", "ebu",
        "-t", str(target), "-tp", str(ceiling), "-c:a", "pcm_f32le", "-ar", "48000",
    ]  # fmt: skip
    run(cmd, what="normalising with ffmpeg-normalize", path=master)


def ours_meter(path: Path) -> tuple[float, float]:
    raw = run(
        [ffmpeg_exe(), "-v", "error", "-i", ffmpeg_input(path), "-f", "f32le", "-c:a",
         "pcm_f32le", "-ar", "48000", "pipe:1"],
        what="decoding",
        path=path,
    ).stdout  # fmt: skip
    x = np.frombuffer(raw, dtype="<f4").reshape(-1, 2)
    meter = LoudnessMeter(48000, [1.0, 1.0])
    for a in range(0, x.shape[0], 48000):
        meter.add(x[a : a + 48000])
    res = meter.result()
    return float(res.integrated_lufs or 0.0), float(res.true_peak_dbtp or 0.0)


def ebur128(path: Path) -> tuple[float, float]:
    res = run(
        [ffmpeg_exe(), "-hide_banner", "-nostats", "-i", ffmpeg_input(path), "-af",
         "ebur128=peak=true", "-f", "null", "-"],
        what="measuring",
        path=path,
    )  # fmt: skip
    summary = res.stderr.split("Summary:")[-1]
    i = float(re.search(r"I:\s+(-?[\d.]+) LUFS", summary).group(1))
    tp = float(re.search(r"Peak:\s+(-?[\d.]+) dBFS", summary).group(1))
    return i, tp


def one_case(master: Path, name: str, target: float, ceiling: float) -> bool:
    work = OUT / name
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    t0 = time.perf_counter()
    ours = normalise_audio(master, target_lufs=target, true_peak_max_dbtp=ceiling, work_dir=work)
    t_ours = time.perf_counter() - t0
    theirs_wav = work / "ffmpeg-normalize.wav"
    t0 = time.perf_counter()
    run_ffmpeg_normalize(master, target, ceiling, theirs_wav)
    t_theirs = time.perf_counter() - t0
    print(f"\n{name}: target {target:g} LUFS, ceiling {ceiling:g} dBTP")
    print(f"  rushline: gain {ours.gain_db:+.2f} dB, limiter {ours.limiter_used} "
          f"(max GR {ours.max_gain_reduction_db:.1f} dB), {ours.passes} pass(es)")  # fmt: skip
    print(f"  {'':18} {'time s':>8} {'err ours LU':>12} {'err ebur128':>12} {'TP dBTP':>8}")
    ok = True
    for label, wav, secs in (
        ("rushline", ours.wav, t_ours),
        ("ffmpeg-normalize", theirs_wav, t_theirs),
    ):
        i_ours, tp = ours_meter(wav)
        i_ff, _ = ebur128(wav)
        e1, e2 = i_ours - target, i_ff - target
        print(f"  {label:18} {secs:8.2f} {e1:+12.2f} {e2:+12.2f} {tp:8.2f}")
        if label == "rushline":
            ok = ok and abs(e1) <= 0.1 and abs(e2) <= 0.1 and tp <= ceiling
    print(f"  time ratio rushline / ffmpeg-normalize: {t_ours / t_theirs:.2f}x "
          f"({'faster' if t_ours < t_theirs else 'SLOWER'})")  # fmt: skip
    return ok and t_ours < t_theirs


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="1 minute instead of 10")
    args = parser.parse_args(argv)
    master = write_programme(60 if args.quick else 600)
    print(f"master: {master.name}")
    results = [one_case(master, name, *CASES[name]) for name in CASES]
    verdict = "met" if all(results) else "NOT met"
    print(f"\ngoal (faster, within ±0.1 LU, under the ceiling): {verdict}")
    return 0 if all(results) else 1


if __name__ == "__main__":
    raise SystemExit(main())
