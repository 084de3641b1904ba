"""Catalogue speed: search over 100 000 clips (FTS5 + indexes) against a naive LIKE scan, and
recording an offload of 10 000 files against writing the same rows as JSON lines, and against
the offload itself (a real offload of the same number of small files, measured in this run)."""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

from sqlalchemy import text

from pipeline.catalog.db import open_catalog
from pipeline.catalog.record import offload_facts, record_offload
from pipeline.catalog.search import search
from pipeline.catalog.store import refresh
from pipeline.offload import CopyOutcome, DestinationResult, FileRecord, OffloadResult, offload

FACTS_SQL = """
UPDATE clips SET
  camera = CASE id % 3 WHEN 0 THEN 'Sony ILME-FX6V' WHEN 1 THEN 'ARRI ALEXA 35'
           ELSE 'RED V-RAPTOR' END,
  reel = (SELECT name FROM rolls WHERE rolls.id = clips.roll_id),
  start_tc = printf('%02d:00:00:00', 8 + id % 10),
  tc_in_s = (8 + id % 10) * 3600.0,
  tc_out_s = (8 + id % 10) * 3600.0 + 600 + id % 400,
  tc_base = 25, fps = 25,
  qc_verdict = CASE WHEN id % 50 = 0 THEN 'fail' ELSE 'pass' END,
  labels = CASE WHEN id % 97 = 0 THEN 'interview' END
"""
LIKE_SQL = """
SELECT c.id FROM clips c JOIN rolls r ON r.id = c.roll_id
WHERE c.name LIKE :p OR c.path LIKE :p OR r.name LIKE :p OR c.camera LIKE :p
   OR c.reel LIKE :p OR c.labels LIKE :p
"""
QUERIES = [
    "A0042C0137",
    "camera:FX6 reel:A0003",
    "tc:14:23:10:00 camera:FX6",
    "date:2026-11-22 verdict:fail",
    "on:SHUTTLE1 copies:<2",
    "interview",
]


def synthetic(roll: str, n: int) -> OffloadResult:
    dests = ["/Volumes/SHUTTLE1", "/Volumes/RAID"]
    files = [
        FileRecord(
            path=f"CLIPS/{roll}C{i:04d}_261122.mov",
            size=1_000_000 + i,
            mtime="2026-11-22T10:00:00+00:00",
            hashes={"xxh128": f"{roll}{i:028x}"},
            outcomes=[
                CopyOutcome(destination=d, status="copied", verified="full")
                for d in dests[: 1 + (i % 7 != 0)]
            ],
        )
        for i in range(n)
    ]
    return OffloadResult(
        source=f"/card/{roll}",
        roll=roll,
        template="{roll}",
        values={},
        hash_formats=["xxh128"],
        verify="full",
        started="2026-11-22T10:00:00",
        finished="2026-11-22T10:30:00",
        files=files,
        destinations=[DestinationResult(root=d, roll_dir=f"{d}/{roll}") for d in dests],
    )


def build(cat, clips: int, per_roll: int = 1000) -> float:
    t = time.perf_counter()
    for r in range(clips // per_roll):
        record_offload(synthetic(f"A{r:04d}", per_roll), catalog=cat)
    with cat.write() as s:  # probe/QC facts, varied, set in bulk (the bench is about search)
        s.execute(text(FACTS_SQL))
        ids = list(s.scalars(text("SELECT id FROM clips")))
        refresh(s, ids)
    return time.perf_counter() - t


def timed(fn, repeat: int = 7) -> float:
    fn()  # warm the page cache
    runs = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        runs.append(time.perf_counter() - t)
    return statistics.median(runs)


def naive_like(cat, term: str) -> int:
    with cat.read() as s:
        return len(s.execute(text(LIKE_SQL), {"p": f"%{term}%"}).all())


def bench_search(work: Path, clips: int) -> None:
    cat = open_catalog(work / "search.sqlite")
    print(f"building {clips} clips: {build(cat, clips):.1f} s", flush=True)
    print(f"{'query':34} {'matches':>8} {'ms':>8}")
    for q in QUERIES:
        total = search(cat, q).total
        print(f"{q:34} {total:8d} {timed(lambda q=q: search(cat, q)) * 1000:8.1f}")
    fts = timed(lambda: search(cat, "A0042C0137"))
    like = timed(lambda: naive_like(cat, "A0042C0137"))
    print(
        f"free text 'A0042C0137': FTS5 {fts * 1000:.1f} ms vs naive LIKE scan "
        f"{like * 1000:.1f} ms -> {like / fts:.1f}x faster"
    )


def bench_record(work: Path, n: int) -> None:
    card = work / "card"
    (card / "CLIPS").mkdir(parents=True)
    for i in range(n):
        (card / "CLIPS" / f"A001C{i:05d}.mov").write_bytes(os.urandom(4096))
    dests = [work / "SHUTTLE1", work / "RAID"]
    for d in dests:
        d.mkdir()
    t = time.perf_counter()
    result = offload(card, dests, values={"roll": "A001"})
    t_off = time.perf_counter() - t
    cat = open_catalog(work / "record.sqlite")
    t = time.perf_counter()
    record_offload(result, catalog=cat)
    t_rec = time.perf_counter() - t
    t = time.perf_counter()
    with open(work / "rows.jsonl", "w", encoding="utf-8") as fh:  # the baseline
        for f in offload_facts(result):
            fh.write(json.dumps(f.__dict__) + "\n")
        fh.flush()
        os.fsync(fh.fileno())
    t_json = time.perf_counter() - t
    print(f"offload of {n} files x 2 destinations: {t_off:.2f} s")
    print(
        f"record_offload: {t_rec:.2f} s = {t_rec / t_json:.1f}x the JSON-lines baseline "
        f"({t_json:.2f} s); adds {t_rec / t_off:.1%} to the offload"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="20 000 clips, 2 000 files")
    args = parser.parse_args(argv)
    clips, files = (20_000, 2_000) if args.quick else (100_000, 10_000)
    with tempfile.TemporaryDirectory(prefix="rushline-bench-catalog-") as tmp:
        bench_search(Path(tmp), clips)
        bench_record(Path(tmp), files)
    return 0


if __name__ == "__main__":
    sys.exit(main())
