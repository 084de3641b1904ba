"""RAW -> 2048 px sRGB JPEG with rights embedded and verified, per image, against bare rawpy +
OpenCV on the same files (goal >= 0.9x). `python -m bench.bench_photo [--quick]`.

darktable-cli / rawtherapee-cli are compared only when already installed (the CPU is shared;
this benchmark never installs them).
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
RAW_DIR = REPO.parent / "shared" / "media" / "raw"
FILES = ("RAW_CANON_D30_SRGB.CRW", "Blackmagic_PocketCinema4K.dng")


def bare(path: Path, out: Path, *, half: bool) -> None:
    """The baseline: rawpy defaults (camera WB, sRGB), OpenCV area resize, OpenCV JPEG."""
    import cv2
    import rawpy

    with rawpy.imread(str(path)) as raw:
        rgb = raw.postprocess(use_camera_wb=True, half_size=half)
    h, w = rgb.shape[:2]
    s = 2048 / max(h, w)
    if s < 1:
        rgb = cv2.resize(rgb, (round(w * s), round(h * s)), interpolation=cv2.INTER_AREA)
    cv2.imwrite(str(out), rgb[..., ::-1], [cv2.IMWRITE_JPEG_QUALITY, 85])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args(argv)
    from pipeline.exiftool import ExifToolSession
    from pipeline.photo.export import export_one
    from pipeline.photo.presets import load_preset
    from pipeline.rights.template import load_template

    files = [RAW_DIR / f for f in FILES if (RAW_DIR / f).is_file()]
    if not files:
        print("no RAW files in ../shared/media/raw; nothing to measure")
        return 0
    reps = 1 if args.quick else 3
    preset, tpl = load_preset("web"), load_template("example")
    rows = []
    with tempfile.TemporaryDirectory() as tmp, ExifToolSession() as s:
        export_one(files[0], preset, Path(tmp) / "warm", template=tpl, session=s)  # imports
        for f in files:
            t = {"ours": [], "bare": [], "bare_half": []}
            for i in range(reps):
                o = Path(tmp) / f"{f.stem}_{i}"
                t0 = time.perf_counter()
                res = export_one(f, preset, o, template=tpl, session=s)
                t["ours"].append(time.perf_counter() - t0)
                assert res.status == "exported" and not res.rights_not_written, res.error
                for key, half in (("bare", False), ("bare_half", True)):
                    t0 = time.perf_counter()
                    bare(f, Path(tmp) / f"{key}_{i}.jpg", half=half)
                    t[key].append(time.perf_counter() - t0)
            best = {k: min(v) for k, v in t.items()}
            rows.append((f.name, best, res.notes))
    print(f"{'file':34} {'ours s':>8} {'bare s':>8} {'ratio':>6} {'bare½ s':>8} {'ratio':>6}")
    worst = 99.0
    for name, b, _notes in rows:
        r1, r2 = b["bare"] / b["ours"], b["bare_half"] / b["ours"]
        worst = min(worst, r1)
        print(
            f"{name:34} {b['ours']:8.3f} {b['bare']:8.3f} {r1:5.2f}x "
            f"{b['bare_half']:8.3f} {r2:5.2f}x"
        )
    print(
        "ours = develop + exact 2048 px + sharpen + ICC + EXIF + rights embedded + ExifTool "
        "read-back + integrity check; ratio = bare time / ours (goal >= 0.9x vs full bare)"
    )
    for tool in ("darktable-cli", "rawtherapee-cli"):
        state = "installed (not run in this version)" if shutil.which(tool) else "not installed"
        print(f"{tool}: {state}; not compared (this benchmark never installs it)")
    return 0 if worst >= 0.9 else 1


if __name__ == "__main__":
    sys.exit(main())
