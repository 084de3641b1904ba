"""One camera file is one clip, whatever order the card is probed and offloaded in.

Real media (the B_A001 ARRI sample card, copied into tmp_path so its card path is ours), real
offloads to two drives with ASC MHL, real probes (MediaInfo), a catalogue in tmp_path; the
probe→offload and duplicated-catalogue cases run on PostgreSQL too."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import delete, func, select
from test_catalog_dialects import _new_database, pg_server  # noqa: F401 - a fixture

from pipeline.catalog import record
from pipeline.catalog.db import open_catalog
from pipeline.catalog.record import record_offload, record_probe, record_qc
from pipeline.catalog.schema import Clip, Copy, Roll, SchemaVersion
from pipeline.catalog.search import search
from pipeline.offload import offload
from pipeline.probe import probe_paths
from pipeline.qc.findings import QCResult, Verdict

QUERIES = ("reel:A001", "roll:B_A001", 'camera:"ARRI ALEXA Mini LF"', "roll:A001", "reel:b_a0")


@pytest.fixture
def card(samples, tmp_path: Path) -> Path:
    out = tmp_path / "cards" / "B_A001"
    shutil.copytree(Path(samples["root"]) / samples["cards"]["B_A001"]["path"], out)
    return out


@pytest.fixture(params=["sqlite", "postgresql"])
def db(request, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return str(tmp_path / "catalog.sqlite")
    return _new_database(request.getfixturevalue("pg_server"))


def movs(root: Path) -> list[Path]:
    return sorted(root.rglob("*.mov"))


def do_offload(card: Path, tmp: Path) -> tuple[Any, list[Path]]:
    dests = [tmp / "SSD_A", tmp / "SSD_B"]
    for d in dests:
        d.mkdir(exist_ok=True)
    result = offload(card, dests)
    assert result.exit_code == 0
    return result, dests


def probe(paths: list[Path], db: str) -> None:
    assets = probe_paths(paths, provenance=False)
    assert assets and all(a.ok for a in assets)
    record_probe(assets, catalog=db)


def assert_one_verified_clip_per_file(db: str, card: Path) -> None:
    files = movs(card)
    cat = open_catalog(db)
    try:
        with cat.read() as s:
            assert s.execute(select(func.count()).select_from(Clip)).scalar_one() == len(files)
            assert set(s.scalars(select(Roll.name))) == {"B_A001"}  # no stray probe-only roll
        for query in QUERIES:
            found = search(cat, query)
            assert found.total == len(files), query
            for hit in found.clips:
                assert hit.roll == "B_A001" and hit.reel == "A001"
                assert hit.codec and "ProRes" in hit.codec and hit.start_tc  # probe facts
                assert hit.camera == "ARRI ALEXA Mini LF" and "xxh128" in hit.hashes
                assert hit.verified_copies == 2
                assert {k.volume for k in hit.copies} == {"SSD_A", "SSD_B"}
                assert all(k.verified == "full" for k in hit.copies)  # the card is no copy
                assert hit.source == str(card / hit.path)  # ...but where the clip came from
        assert search(cat, "copies:<2").total == 0
        assert search(cat, "on:B_A001").total == 0  # the card volume holds no copies
    finally:
        cat.close()


def test_probe_card_then_offload(db, card, tmp_path):
    probe([card], db)
    before = search(open_catalog(db), "reel:A001").clips
    assert len(before) == 3 and all(h.verified_copies == 0 for h in before)
    result, _ = do_offload(card, tmp_path)
    record_offload(result, catalog=db)
    assert_one_verified_clip_per_file(db, card)
    after = search(open_catalog(db), "reel:A001").clips
    assert {h.id for h in after} == {h.id for h in before}  # adopted, not re-created


def test_offload_then_probe_card(card, tmp_path):
    db = str(tmp_path / "catalog.sqlite")
    result, _ = do_offload(card, tmp_path)
    record_offload(result, catalog=db)
    probe([card], db)
    assert_one_verified_clip_per_file(db, card)


def test_offload_then_probe_a_copy_and_qc_the_card(card, tmp_path):
    db = str(tmp_path / "catalog.sqlite")
    result, dests = do_offload(card, tmp_path)
    record_offload(result, catalog=db)
    probe([dests[1] / "B_A001"], db)
    assert_one_verified_clip_per_file(db, card)
    first = movs(card)[0]
    assert record_qc(QCResult(file=str(first), profile="p", verdict=Verdict.PASS), catalog=db).clips
    assert search(open_catalog(db), "verdict:pass").total == 1  # the card path is the clip's


def test_everything_twice_stays_one_clip(card, tmp_path):
    db = str(tmp_path / "catalog.sqlite")
    result, dests = do_offload(card, tmp_path)
    for _ in range(2):
        probe([card], db)
        record_offload(result, catalog=db)
        probe([dests[0] / "B_A001", card], db)
        record_offload(result, catalog=db)
    assert_one_verified_clip_per_file(db, card)
    with open_catalog(db).read() as s:  # 2 copies + the source, each once
        assert s.execute(select(func.count()).select_from(Copy)).scalar_one() == 3 * 3


def test_duplicated_catalogue_merged_by_migration(db, card, tmp_path, monkeypatch):
    probe([card], db)
    result, _ = do_offload(card, tmp_path)
    with monkeypatch.context() as m:  # the recorder as it was before clips had one identity
        m.setattr(record, "adopt", lambda *a, **k: [])
        m.setattr(record, "mark_sources", lambda *a, **k: None)
        record_offload(result, catalog=db)
    record_qc(QCResult(file=str(movs(card)[0]), profile="p", verdict=Verdict.FAIL), catalog=db)
    cat = open_catalog(db)
    assert search(cat, "").total == 6  # the bug: each file twice
    with cat.write() as s:
        s.execute(delete(SchemaVersion).where(SchemaVersion.version >= 3))
    cat.close()
    assert_one_verified_clip_per_file(db, card)  # opening it again runs step 3
    assert search(open_catalog(db), "verdict:fail").total == 1  # the QC record moved over
