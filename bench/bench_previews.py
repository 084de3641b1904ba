"""Culling previews from the embedded JPEGs: images per second, 1 worker against 2 (goal >= 100
images/s using both cores). `python -m bench.bench_previews [--quick]`.

The sources are N symbolic links, in turn, to the real RAWs in ../shared/media/raw
(RAW_CANON_D30_SRGB.CRW, Blackmagic_PocketCinema4K.dng, canon_eos_6d.dng) and the sample photo
card's photos (sample_media/out/cards/D_PHOTO, found through its manifest: RAWs and JPEGs).
A source without a usable preview is listed once with its reason and left out of the N.
Previews are made the way `rushline photo cull` makes them: `make_previews` at its default
2048 px long edge into a fresh folder, its own timer (pool start-up included). The variants
run alternately (order rotated each round) after a warm-up; medians are reported with the
load average at the start. The files are in the page cache (the same few bytes linked many
times): this measures the work, not the card reader.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
RAW_DIR = REPO.parent / "shared" / "media" / "raw"
RAWS = ("RAW_CANON_D30_SRGB.CRW", "Blackmagic_PocketCinema4K.dng", "canon_eos_6d.dng")
SAMPLES = REPO / "sample_media" / "out"
GOAL = 100.0  # images per second with both cores


def card_photos() -> list[Path]:
    """The sample photo card's photos from its manifest; generated first if absent."""
    manifest = SAMPLES / "manifest.json"
    if not manifest.is_file():
        import sample_media

        print("sample media missing: generating them (python -m sample_media sample_media/out)")
        sample_media.ensure(SAMPLES)
    card = json.loads(manifest.read_text(encoding="utf-8"))["cards"].get("D_PHOTO", {})
    paths = [SAMPLES / f["path"] for f in card.get("files", []) if f.get("kind") == "photo"]
    if paths and not all(p.is_file() for p in paths):
        import sample_media

        print("sample photo card incomplete: rebuilding it (sample_media.build_card D_PHOTO)")
        sample_media.build_card("D_PHOTO", SAMPLES)
    return [p for p in paths if p.is_file()]


def usable(sources: list[Path], tmp: Path) -> list[Path]:
    """The sources that give a preview; the others are printed with the reason."""
    from pipeline.photo.previews import make_previews

    run = make_previews(sources, tmp / "probe", workers=1)
    good = []
    for src, p in zip(sources, run.previews, strict=True):
        if p.error:
            print(f"left out (no preview): {p.error}")
        else:
            good.append(src)
            print(f"  {p.how:16} {p.width}x{p.height}  {src.name}")
    return good


def link_set(sources: list[Path], folder: Path, n: int) -> list[Path]:
    """n symbolic links to the sources, in turn, each with its own name."""
    folder.mkdir(parents=True)
    links = []
    for i in range(n):
        src = sources[i % len(sources)]
        link = folder / f"{i:05d}_{src.name}"
        link.symlink_to(src.resolve())
        links.append(link)
    return links


def _cpu() -> float:
    """CPU seconds of this process and its finished children (the pool's workers)."""
    me, kids = (
        resource.getrusage(resource.RUSAGE_SELF),
        resource.getrusage(resource.RUSAGE_CHILDREN),
    )
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def measure(links: list[Path], tmp: Path, reps: int) -> dict[int, list[tuple[float, float]]]:
    """(images/s, CPU ms per image) for 1 and 2 workers, alternating; every preview made."""
    from pipeline.photo.previews import make_previews

    rates: dict[int, list[tuple[float, float]]] = {1: [], 2: []}
    order = list(rates)
    for i in range(-1, reps):  # round -1 is the warm-up, not counted
        for w in order[i % 2 :] + order[: i % 2]:
            out = tmp / f"out_{w}_{i + 1}"
            c0 = _cpu()
            run = make_previews(links, out, workers=w)
            cpu_ms = (_cpu() - c0) * 1000 / len(links)
            assert not run.failed, run.failed[0].error
            assert len(list(out.glob("*.jpg"))) == len(links)
            if i >= 0:
                rates[w].append((run.per_second, cpu_ms))
            shutil.rmtree(out)
    return rates


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="120 images, 3 rounds")
    parser.add_argument("-n", type=int, default=None, help="images per run (default 600)")
    args = parser.parse_args(argv)
    n = args.n or (120 if args.quick else 600)
    reps = 3 if args.quick else 5
    raws = [RAW_DIR / f for f in RAWS if (RAW_DIR / f).is_file()]
    if not raws:
        print("no RAW files in ../shared/media/raw: measuring the sample card only")
    load = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="bench_previews_") as t:
        tmp = Path(t)
        sources = usable(raws + card_photos(), tmp)
        if not sources:
            print("no source with a preview; nothing to measure")
            return 0
        rates = measure(link_set(sources, tmp / "in", n), tmp, reps)
    print(f"load average at start: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} "
          f"({os.cpu_count()} cores); {n} images from {len(sources)} sources, "
          f"{reps} alternating rounds, medians")  # fmt: skip
    return report(rates, load)


def report(rates: dict[int, list[tuple[float, float]]], load: tuple[float, ...]) -> int:
    med = {w: (statistics.median(r for r, _ in v), statistics.median(c for _, c in v))
           for w, v in rates.items()}  # fmt: skip
    print(
        f"{'workers':>8} {'images/s':>9} {'vs goal':>8} {'cpu ms/img':>11}  (images/s each round)"
    )
    for w, (r, c) in med.items():
        every = " ".join(f"{x:.0f}" for x, _ in rates[w])
        print(f"{w:>8} {r:9.1f} {r / GOAL:7.2f}x {c:11.2f}  ({every})")
    one, two = med[1][0], med[2][0]
    cores = os.cpu_count() or 1
    ceiling = cores * 1000 / med[2][1]
    print(
        f"2 workers / 1 worker: {two / one:.2f}x; goal >= {GOAL:.0f} images/s with both "
        f"cores; at this CPU per image, {cores} idle cores would give ~{ceiling:.0f}/s"
    )
    if load[0] > cores:
        print("the machine was busy (load above the core count): both cores were not ours; "
              "the CPU per image is the stable figure")  # fmt: skip
    return 0 if two >= GOAL else 1


if __name__ == "__main__":
    sys.exit(main())
