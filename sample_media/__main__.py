"""`python -m sample_media OUT [--force]`: build the sample media (once) and say what was made."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from pipeline.errors import RushlineError


def _human(n: float) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1000 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
    return f"{n:.1f} GB"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m sample_media", description=__doc__)
    parser.add_argument("out", type=Path, help="output folder (e.g. sample_media/out)")
    parser.add_argument("--force", action="store_true", help="rebuild even if up to date")
    args = parser.parse_args(argv)

    import sample_media

    t0 = time.monotonic()
    try:
        manifest = sample_media.ensure(args.out, force=args.force)
    except RushlineError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    took = time.monotonic() - t0
    root = Path(manifest["root"])
    if took < 1 and not args.force:
        print(
            f"{root}: up to date (generator {manifest['generator_version']}, built in "
            f"{manifest['elapsed_s']} s); --force rebuilds"
        )
    total = 0
    groups = [(f"cards/{k}", v["files"]) for k, v in manifest["cards"].items()]
    groups.append(("masters", list(manifest["masters"].values())))
    groups.append(("misc", list(manifest["misc"].values())))
    for name, recs in groups:
        size = sum(r.get("size", 0) for r in recs)
        total += size
        print(f"  {name:<18} {len(recs):>3} files  {_human(size):>9}")
    lo = manifest["masters"]["PROGRAMME_MASTER"]["loudness"]
    print(
        f"  programme loudness {lo['programme_integrated_lufs']} LUFS, "
        f"true peak {lo['programme_true_peak_dbtp']} dBTP (ch1-2)"
    )
    print(f"{root}: {_human(total)} in {manifest['elapsed_s']} s (this run {took:.1f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
