"""Rights applied to many JPEGs: Rushline's batch (one ExifTool process, read-back verified)
against one ExifTool process per file, measured in the same run.

    python -m bench.bench_rights            # 1 000 JPEGs (goal: <= 20 ms per file)
    python -m bench.bench_rights --quick    # 100 JPEGs
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import time
from pathlib import Path

from pipeline.exiftool import escape_value
from pipeline.rights.apply import apply_rights
from pipeline.rights.embed import image_assignments
from pipeline.rights.template import FileContext, expand, load_template
from pipeline.tools import exiftool_exe, ffmpeg_exe, run

OUT = Path(__file__).resolve().parent / "out" / "rights"
GOAL_MS = 20.0


def make_jpegs(folder: Path, n: int) -> list[Path]:
    """n small, distinct JPEGs (640x360 test frames) from one ffmpeg run."""
    folder.mkdir(parents=True, exist_ok=True)
    have = sorted(folder.glob("f*.jpg"))
    if len(have) >= n:
        return have[:n]
    run(
        [
            ffmpeg_exe(),
            "-hide_banner",
            "-v",
            "error",
            "-y",
            "-f",
            "lavfi",
            "-i",
            f"testsrc2=s=640x360:r=25:d={n / 25 + 1}",
            "-frames:v",
            str(n),
            "-q:v",
            "4",
            str(folder / "f%05d.jpg"),
        ],
        what="making benchmark JPEGs",
    )
    return sorted(folder.glob("f*.jpg"))[:n]


def fresh_copy(src: list[Path], dest: Path) -> list[Path]:
    if dest.exists():
        shutil.rmtree(dest)
    dest.mkdir(parents=True)
    out = []
    for p in src:
        q = dest / p.name
        shutil.copyfile(p, q)
        out.append(q)
    return out


def baseline(files: list[Path], template) -> float:
    """One `exiftool` process per file, the same tags, overwrite in place (what scripts do)."""
    t0 = time.perf_counter()
    for i, f in enumerate(files, 1):
        notes: list[str] = []
        t = expand(template, FileContext(f, seq=i))
        args = [exiftool_exe(), "-q", "-E", "-m", "-charset", "iptc=UTF8", "-overwrite_original"]
        args += [f"-{tag}={escape_value(v)}" for tag, v in image_assignments(t, notes)]
        run([*args, str(f)], what="writing rights (baseline)", path=f)
    return time.perf_counter() - t0


def cpu_s() -> float:
    """CPU seconds of this process and its finished children (ExifTool included): unlike the
    wall clock, it does not grow when other jobs share the cores."""
    total = 0.0
    for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN):
        r = resource.getrusage(who)
        total += r.ru_utime + r.ru_stime
    return total


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="100 files (baseline on 20)")
    ap.add_argument("-n", type=int, default=None, help="number of JPEGs (default 1000)")
    args = ap.parse_args(argv)
    n = args.n or (100 if args.quick else 1000)
    # The per-process baseline costs ~0.2 s a file: measure it on a sample, report per file.
    n_base = min(n, 20 if args.quick else 100)
    template = load_template("example")
    src = make_jpegs(OUT / "src", n)

    work = fresh_copy(src, OUT / "rushline")
    c0, t0 = cpu_s(), time.perf_counter()
    results = apply_rights(work, template, embed=True)  # closes its ExifTool: CPU is counted
    t_rush, c_rush = time.perf_counter() - t0, cpu_s() - c0
    bad = [r for r in results if r.action != "embedded" or r.not_written]
    if bad:
        print(f"{len(bad)} file(s) not fully written, e.g. {bad[0]}")
        return 1

    base_files = fresh_copy(src[:n_base], OUT / "baseline")
    c0 = cpu_s()
    t_base = baseline(base_files, template)
    c_base = cpu_s() - c0

    ms_rush = t_rush / n * 1000
    ms_base = t_base / n_base * 1000
    print(
        f"\nRights applied to JPEGs (640x360, {len(template.model_dump(exclude_none=True))} "
        "template keys, XMP + IIM + EXIF)"
    )
    cpu_rush, cpu_base = c_rush / n * 1000, c_base / n_base * 1000
    print(f"{'method':<46}{'files':>6}{'wall s':>9}{'ms/file':>9}{'CPU ms/file':>13}")
    print(
        f"{'exiftool, one process per file (baseline)':<46}{n_base:>6}{t_base:>9.2f}"
        f"{ms_base:>9.1f}{cpu_base:>13.1f}"
    )
    print(
        f"{'rushline batch (-stay_open, verified, fsync)':<46}{n:>6}{t_rush:>9.2f}"
        f"{ms_rush:>9.1f}{cpu_rush:>13.1f}"
    )
    load = os.getloadavg()[0]
    print(
        f"\nspeed-up vs baseline: {ms_base / ms_rush:.1f}x wall, {cpu_base / cpu_rush:.1f}x CPU"
        f"   (load average {load:.1f} on {os.cpu_count()} cores)"
    )
    print(
        f"goal: <= {GOAL_MS:.0f} ms/file -> "
        + ("MET" if ms_rush <= GOAL_MS else "NOT MET")
        + " (wall clock)"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
