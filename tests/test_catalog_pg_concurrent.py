"""Two machines' worth of offloads writing to one PostgreSQL catalogue at the same time.

Two `rushline offload` processes (the real CLI, started through pipeline.tools) with
RUSHLINE_CATALOG=postgresql://...: each offloads its own card; then both offload the same card
(the same roll, the same clips) to their own drives at once. Every clip and every copy is
recorded exactly once, no process fails or warns, searches find both rolls, and each clip
counts both verified copies (a race between two READ COMMITTED transactions once left the
second copy uncounted: see test_concurrent_first_records_of_one_clip_count_every_copy).
"""

from __future__ import annotations

import shutil
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select, text
from test_catalog_dialects import _new_database, pg_server  # noqa: F401 (a fixture)

from pipeline import tools
from pipeline.catalog.db import open_catalog
from pipeline.catalog.schema import Clip, Copy, OffloadRun, Roll
from pipeline.catalog.search import search
from pipeline.names import nfc
from pipeline.offload import OffloadResult

CARDS = ("A_XDCAM", "B_A001")


@pytest.fixture
def pg_url(pg_server: str) -> str:  # noqa: F811
    return _new_database(pg_server)


@pytest.fixture
def cards(samples, tmp_path) -> dict[str, Path]:
    out = {}
    for name in CARDS:
        out[name] = tmp_path / "cards" / name
        shutil.copytree(Path(samples["root"]) / samples["cards"][name]["path"], out[name])
    return out


def _offload_at_once(jobs: list[tuple[Path, Path, str, Path]]) -> list[OffloadResult]:
    """Start every `rushline offload CARD -d DEST --roll ROLL --json JSON`, then wait for all;
    each must exit 0 without a catalogue warning."""
    procs: list[tools.Process] = []
    try:
        for card, dest, roll, report in jobs:
            cmd = [sys.executable, "-m", "pipeline", "offload", str(card), "-d", str(dest),
                   "--roll", roll, "--no-thumbnails", "--json", str(report)]  # fmt: skip
            procs.append(tools.spawn(cmd, what="a test offload", stdout=True, stderr=True))
        outs = [p.communicate(timeout=600) for p in procs]
    finally:
        for p in procs:
            if p.poll() is None:
                tools.end(p, timeout=5)
    for p, (out, err) in zip(procs, outs, strict=True):
        said = (out + err).decode(errors="replace")
        assert p.returncode == 0, said
        assert "catalogue was not updated" not in said, said
    return [OffloadResult.model_validate_json(j[3].read_text(encoding="utf-8")) for j in jobs]


def _roll_facts(cat: Any, roll: str) -> tuple[list[str], list[tuple[str, int]], list[int]]:
    """Clip paths, (copy path, clip id) of verified copies, and verified counts of a roll."""
    with cat.read() as s:
        rid = s.execute(select(Roll.id).where(Roll.name == roll)).scalar_one()
        clips = s.execute(select(Clip.path, Clip.verified_copies).where(Clip.roll_id == rid))
        paths, counts = [], []
        for path, n in clips:
            paths.append(path)
            counts.append(n)
        q = (
            select(Copy.path, Copy.clip_id)
            .join(Clip, Clip.id == Copy.clip_id)
            .where(Clip.roll_id == rid, Copy.verified.is_not(None))
        )
        copies = [(p, c) for p, c in s.execute(q)]
    return paths, copies, counts


def test_two_offloads_of_two_cards_at_once(pg_url, cards, tmp_path, monkeypatch):
    monkeypatch.setenv("RUSHLINE_CATALOG", pg_url)
    jobs = [
        (cards["A_XDCAM"], tmp_path / "machine1" / "SHUTTLE1", "A001", tmp_path / "a.json"),
        (cards["B_A001"], tmp_path / "machine2" / "SHUTTLE2", "B001", tmp_path / "b.json"),
    ]
    for _, dest, _, _ in jobs:
        dest.mkdir(parents=True)
    results = _offload_at_once(jobs)
    cat = open_catalog(pg_url)
    try:
        for res in results:
            wanted = sorted(nfc(f.path) for f in res.files)
            paths, copies, counts = _roll_facts(cat, res.roll)
            assert sorted(paths) == wanted and len(wanted) >= 3  # each clip once
            assert len(copies) == len(wanted) == len(set(copies))  # each copy once
            assert all(Path(p).is_file() for p, _ in copies) and set(counts) == {1}
            assert search(cat, f"roll:{res.roll}").total == len(wanted)
        assert search(cat, "on:shuttle1").total == len(results[0].files)
        assert search(cat, "on:shuttle2").total == len(results[1].files)
        with cat.read() as s:
            assert s.scalar(select(func.count()).select_from(OffloadRun)) == 2
    finally:
        cat.close()


def test_two_offloads_of_the_same_card_at_once(pg_url, cards, tmp_path, monkeypatch):
    monkeypatch.setenv("RUSHLINE_CATALOG", pg_url)
    card = cards["B_A001"]
    dests = [tmp_path / "machine1" / "RAID", tmp_path / "machine2" / "RAID"]
    for d in dests:
        d.mkdir(parents=True)
    jobs = [(card, d, "S001", tmp_path / f"s{i}.json") for i, d in enumerate(dests)]
    first, second = _offload_at_once(jobs)
    assert sorted(f.path for f in first.files) == sorted(f.path for f in second.files)
    cat = open_catalog(pg_url)
    try:
        paths, copies, counts = _roll_facts(cat, "S001")
        assert sorted(paths) == sorted(nfc(f.path) for f in first.files)  # each clip once
        assert len(copies) == 2 * len(paths) == len({p for p, _ in copies})  # each copy once
        assert set(counts) == {2}  # both machines' copies counted on every clip
        assert search(cat, "roll:S001 copies:2").total == len(paths)
        with cat.read() as s:
            assert s.scalar(select(func.count()).select_from(Roll)) == 1
            sources = s.execute(select(Copy.path).where(Copy.status == "source")).scalars()
            assert sorted(sources) == sorted(f"{nfc(str(card))}/{p}" for p in paths)
            runs = s.execute(select(OffloadRun.destinations)).scalars().all()
        # two rows, or one when both started in the same second: never one run lost
        assert sorted(d for r in runs for d in r.split("\n")) == sorted(str(d) for d in dests)
    finally:
        cat.close()


def test_concurrent_first_records_of_one_clip_count_every_copy(pg_url, monkeypatch):
    """Deterministic form of the race: in a roll the catalogue knows already, offload A has
    inserted new clips and their copies but not committed when offload B records the same
    clips; B waits on A's rows, and once A commits each clip must count both copies (B looked
    for known clips before A's were visible, so it must recount what it upserted)."""
    from test_catalog import synthetic

    import pipeline.catalog.record as record

    a = synthetic("R001", 20, "/mnt/SHUTTLE1")
    b = synthetic("R001", 20, "/mnt/SHUTTLE2")
    assert {f.path for f in a.files} == {f.path for f in b.files}
    earlier = synthetic("R001", 1, "/mnt/OLD")  # the roll is known (and its card) already
    earlier.files[0].path = "CLIPS/R001_first.mov"
    record.record_offload(earlier, catalog=pg_url)
    paused, release = threading.Event(), threading.Event()
    real = record.mark_sources

    def slow_mark_sources(s, rid, volume, root, sources):
        if threading.current_thread().name == "A":
            paused.set()
            assert release.wait(60)
        return real(s, rid, volume, root, sources)

    monkeypatch.setattr(record, "mark_sources", slow_mark_sources)
    errors: list[BaseException] = []

    def run(result: OffloadResult) -> None:
        try:
            record.record_offload(result, catalog=pg_url)
        except BaseException as exc:  # reported by the assertion below
            errors.append(exc)

    ta = threading.Thread(target=run, args=(a,), name="A")
    tb = threading.Thread(target=run, args=(b,), name="B")
    ta.start()
    assert paused.wait(60)
    tb.start()
    try:
        _wait_for_lock_waiter(pg_url)  # B blocks on A's uncommitted clip rows
    finally:
        release.set()
        ta.join(60)
        tb.join(60)
    assert not errors, errors
    cat = open_catalog(pg_url)
    try:
        paths, copies, counts = _roll_facts(cat, "R001")
        assert len(paths) == 21 and len(copies) == 41
        assert sorted(counts) == [1] + [2] * 20  # the earlier clip has its one copy
    finally:
        cat.close()


def _wait_for_lock_waiter(url: str) -> None:
    cat = open_catalog(url)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            with cat.read() as s:
                waiting = s.scalar(
                    text(
                        "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                        "AND datname = current_database()"
                    )
                )
            if waiting:
                return
            time.sleep(0.05)
        raise AssertionError("offload B never waited for offload A's transaction")
    finally:
        cat.close()


@pytest.mark.parametrize("dialect", ["sqlite", "postgresql"])
def test_runs_of_one_card_started_in_the_same_second_are_both_kept(dialect, request, tmp_path):
    from test_catalog import synthetic

    from pipeline.catalog.record import record_offload

    url = str(tmp_path / "cat.sqlite") if dialect == "sqlite" else request.getfixturevalue("pg_url")
    one, two = synthetic("R002", 3, "/mnt/SHUTTLE1"), synthetic("R002", 3, "/mnt/SHUTTLE2")
    two.exit_code = 12  # the second machine's verification failed somewhere
    cat = open_catalog(url)
    try:
        for res in (one, two, one):  # the first again: nothing changes
            record_offload(res, catalog=cat)
        with cat.read() as s:
            (run,) = s.execute(select(OffloadRun)).scalars().all()
            assert run.destinations.split("\n") == ["/mnt/SHUTTLE1", "/mnt/SHUTTLE2"]
            assert run.exit_code == 12 and run.files == 3
        assert search(cat, "roll:R002 copies:2").total == 3
    finally:
        cat.close()
