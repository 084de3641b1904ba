"""`make bench` / `python -m bench [--quick] [NAME...]`: every benchmark, one after the other.

Each prints its own table of ratios against a baseline measured in the same run. Names:
loudness, normalise, qc, cache, deliver, photo, previews, rights, catalog, archive, offload,
cluster, split (default: all, in that order; offload is the longest: it writes more than 2 GB
twice and 10 000 small files; photo installs darktable and RawTherapee with apt-get when it can, to
compare with them).
"""

from __future__ import annotations

import argparse
import importlib
import sys
import time

ORDER = (
    "loudness",
    "normalise",
    "qc",
    "cache",
    "deliver",
    "photo",
    "previews",
    "rights",
    "catalog",
    "archive",
    "offload",
    "cluster",
    "split",
)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Run Rushline's benchmarks.")
    parser.add_argument("names", nargs="*", help=f"which benchmarks: {', '.join(ORDER)}")
    parser.add_argument("--quick", action="store_true", help="small sizes, about a minute each")
    args = parser.parse_args(argv)
    names = args.names or list(ORDER)
    unknown = [n for n in names if n not in ORDER]
    if unknown:
        parser.error(f"unknown benchmark {', '.join(unknown)}; choose from {', '.join(ORDER)}")
    worst = 0
    for name in names:
        module = importlib.import_module(f"bench.bench_{name}")
        print(f"\n=== bench {name} {'(quick)' if args.quick else ''} ===", flush=True)
        started = time.monotonic()
        code = module.main(["--quick"] if args.quick else [])
        print(f"=== bench {name}: {time.monotonic() - started:.0f} s ===", flush=True)
        worst = max(worst, code or 0)
    return worst


if __name__ == "__main__":
    sys.exit(main())
