"""The catalogue: offloads, probes and QC recorded (twice is once), searched by field and free
text, rebuilt from the drives' ASC MHL histories, safe with two writers, clear when corrupt."""

from __future__ import annotations

import multiprocessing
import os
import sqlite3
from pathlib import Path

import pytest
import typer
from sqlalchemy import func, select
from typer.testing import CliRunner

from pipeline.assets import Asset, Kind, VideoStream
from pipeline.catalog import timecode
from pipeline.catalog.db import CatalogError, open_catalog
from pipeline.catalog.export import ALE_COLUMNS, ale_text, csv_text
from pipeline.catalog.importer import import_path
from pipeline.catalog.migrate import LATEST
from pipeline.catalog.record import record_offload, record_probe, record_qc
from pipeline.catalog.schema import Copy, Hash, SchemaVersion
from pipeline.catalog.search import every_hit, find_clip, search
from pipeline.offload import offload
from pipeline.qc.findings import Finding, QCResult, Severity, Verdict

HOSTILE = ["A001C001.mov", "we\tird\nname [x].mov", "-rf.mov", "A[b]x.mov", 'it\'s "q".mov']


def make_card(root: Path) -> Path:
    card = root / "card"
    (card / "CLIPS").mkdir(parents=True)
    for i, name in enumerate(HOSTILE):
        (card / "CLIPS" / name).write_bytes(os.urandom(2000 + i))
    return card


@pytest.fixture
def offloaded(tmp_path: Path):
    card = make_card(tmp_path)
    dests = [tmp_path / "SHUTTLE1", tmp_path / "RAID"]
    for d in dests:
        d.mkdir()
    result = offload(card, dests, values={"roll": "A001"})
    assert result.exit_code == 0
    return result, dests


def count(cat, model) -> int:
    with cat.read() as s:
        return s.execute(select(func.count()).select_from(model)).scalar_one()


def test_offload_recorded_once_even_when_recorded_twice(tmp_path, offloaded):
    result, dests = offloaded
    cat = open_catalog(tmp_path / "cat.sqlite")
    first = record_offload(result, catalog=cat)
    again = record_offload(result, catalog=cat)
    assert first.clips == again.clips == len(HOSTILE)
    # two verified copies and the card (the clip's source, not a copy) per file, each once
    assert count(cat, Copy) == 3 * len(HOSTILE) and count(cat, Hash) == len(HOSTILE)
    hit = search(cat, "A001C001").clips
    assert [h.name for h in hit] == ["A001C001"]
    assert {k.volume for k in hit[0].copies} == {"SHUTTLE1", "RAID"}
    assert all(
        k.verified == "full" and k.verified_at and k.mhl_generation == 1 for k in hit[0].copies
    )
    assert hit[0].hashes["xxh128"] == result.files[0].hashes["xxh128"] or hit[0].hashes
    assert search(cat, "on:shuttle1").total == len(HOSTILE)
    assert search(cat, "copies:<2").total == 0
    assert search(cat, "copies:>=2").total == len(HOSTILE)
    with cat.read() as s:
        assert s.execute(select(func.max(SchemaVersion.version))).scalar() == LATEST == 3


def asset(path: str, tc: str, fps: float, frames: int, camera: str, reel: str) -> Asset:
    return Asset(
        path=path,
        kind=Kind.VIDEO,
        size=10,
        start_timecode=tc,
        reel=reel,
        camera=camera,
        duration_s=frames / fps,
        video=[
            VideoStream(
                codec="ProRes",
                codec_profile="422 HQ",
                width=3840,
                height=2160,
                frame_rate=fps,
                frame_count=frames,
            )
        ],
    )


def test_probe_and_qc_facts_answer_field_filters(tmp_path, offloaded):
    result, dests = offloaded
    cat = open_catalog(tmp_path / "cat.sqlite")
    record_offload(result, catalog=cat)
    a_path = str(dests[0] / "A001" / "CLIPS" / "A001C001.mov")
    b_path = str(dests[0] / "A001" / "CLIPS" / "-rf.mov")
    record_probe(
        [
            asset(a_path, "14:23:00:00", 25.0, 25 * 60, "Sony ILME-FX6V", "A001"),
            asset(b_path, "09:00:00;00", 29.97, 300, "ARRI ALEXA 35", "B002"),
        ],
        catalog=cat,
    )
    assert [h.name for h in search(cat, "camera:FX6").clips] == ["A001C001"]
    assert [h.name for h in search(cat, "tc:14:23:10:00").clips] == ["A001C001"]
    assert search(cat, "tc:14:24:00:00").total == 0  # End is exclusive
    assert [h.name for h in search(cat, "tc:09:00:09;29").clips] == ["-rf"]
    assert search(cat, "tc:09:00:10;00").total == 0
    assert search(cat, "reel:B002").clips[0].end_tc == "09:00:10;00"
    qc = QCResult(
        file=b_path,
        profile="netflix",
        verdict=Verdict.FAIL,
        measurements={"integrated_lufs": -31.2},
        findings=[Finding(check="loudness", severity=Severity.ERROR, message="too quiet")],
    )
    record_qc(qc, catalog=cat)
    record_qc(qc, catalog=cat)
    assert [h.name for h in search(cat, "verdict:fail").clips] == ["-rf"]
    assert [h.name for h in search(cat, "verdict:fail camera:alexa").clips] == ["-rf"]
    assert search(cat, "verdict:fail camera:FX6").total == 0
    day = result.files[0].mtime[:10]
    assert search(cat, f"date:{day}").total == len(HOSTILE)
    assert search(cat, "date:1999-01-01").total == 0


@pytest.mark.parametrize("query", ['"', "A[b]x", "-rf", 'a"b', "NEAR(", "*", "it's", "(", ":"])
def test_hostile_queries_never_break_search(tmp_path, offloaded, query):
    result, _ = offloaded
    cat = open_catalog(tmp_path / "cat.sqlite")
    record_offload(result, catalog=cat)
    found = search(cat, query)  # no exception; punctuation-only terms match by substring
    if query == "A[b]x":
        assert [h.name for h in found.clips] == ["A[b]x"]
    if query == "-rf":
        assert "-rf" in [h.name for h in found.clips]


def test_deleted_catalogue_rebuilt_from_the_drives_mhl_histories(tmp_path, offloaded):
    result, dests = offloaded
    db = tmp_path / "cat.sqlite"
    cat = open_catalog(db)
    record_offload(result, catalog=cat)
    before = {h.path: h.hashes for h in every_hit(cat)}
    cat.close()
    for f in tmp_path.glob("cat.sqlite*"):
        f.unlink()
    cat = open_catalog(db)
    for d in dests:
        summary = import_path(d, catalog=cat)
        assert summary.rolls == ["A001"] and not summary.missing and not summary.problems
    import_path(dests[0], catalog=cat)  # twice is once
    after = every_hit(cat)
    assert {h.path: h.hashes for h in after} == before
    assert all(h.verified_copies == 2 for h in after)
    assert {k.volume for k in after[0].copies} == {"SHUTTLE1", "RAID"}
    assert all(k.verified == "mhl" and k.mhl_generation == 1 for k in after[0].copies)


def _record_in_child(db: str, result_json: str, rounds: int) -> int:
    from pipeline.catalog.record import record_offload
    from pipeline.offload import OffloadResult

    result = OffloadResult.model_validate_json(result_json)
    for _ in range(rounds):
        record_offload(result, catalog=db)
    return len(result.files)


def synthetic(roll: str, n: int, dest: str, *, size: int | None = None):
    """An offload result of n verified files on `dest` (each `size` bytes, else i bytes)."""
    from pipeline.offload import CopyOutcome, DestinationResult, FileRecord, OffloadResult

    files = [
        FileRecord(
            path=f"CLIPS/{roll}C{i:04d}.mov",
            size=i if size is None else size,
            mtime="2026-11-22T10:00:00",
            hashes={"xxh128": f"{roll}{i:028x}"},
            outcomes=[CopyOutcome(destination=dest, status="copied", verified="full")],
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
        finished="2026-11-22T10:05:00",
        files=files,
        destinations=[DestinationResult(root=dest, roll_dir=f"{dest}/{roll}")],
    )


def test_two_processes_recording_at_once_both_land(tmp_path):
    db = str(tmp_path / "cat.sqlite")
    jobs = [synthetic(roll, 2000, "/mnt/SHUTTLE1").model_dump_json() for roll in ("A001", "B001")]
    ctx = multiprocessing.get_context("spawn")
    with ctx.Pool(2) as pool:
        done = pool.starmap(_record_in_child, [(db, j, 3) for j in jobs])
    assert done == [2000, 2000]
    cat = open_catalog(db)
    assert search(cat, "roll:A001").total == 2000 and search(cat, "roll:B001").total == 2000
    assert search(cat, "on:SHUTTLE1 copies:1").total == 4000


def test_corrupt_catalogue_is_a_clear_catalog_error(tmp_path, offloaded):
    result, _ = offloaded
    db = tmp_path / "cat.sqlite"
    db.write_bytes(b"this is not a database\x00\xff" * 500)
    with pytest.raises(CatalogError) as info:
        record_offload(result, catalog=db)
    msg = str(info.value)
    assert str(db) in msg and "damaged" in msg and "rushline catalog import" in msg
    assert not isinstance(info.value.__cause__, CatalogError)
    with pytest.raises(CatalogError):
        open_catalog(db)


def test_catalogue_from_environment_and_newer_schema_refused(tmp_path, monkeypatch):
    monkeypatch.setenv("RUSHLINE_CATALOG", str(tmp_path / "env" / "c.sqlite"))
    cat = open_catalog()
    assert cat.where == str(tmp_path / "env" / "c.sqlite") and Path(cat.where).exists()
    con = sqlite3.connect(cat.where)
    con.execute("INSERT INTO schema_version VALUES (99, 'future', 'x')")
    con.commit()
    con.close()
    with pytest.raises(CatalogError, match="newer than this Rushline"):
        open_catalog()


def parse_ale(text: str) -> tuple[dict[str, str], list[str], list[list[str]]]:
    lines = text.split("\n")
    assert lines[0] == "Heading"
    heading, i = {}, 1
    while lines[i]:
        key, value = lines[i].split("\t")
        heading[key] = value
        i += 1
    assert lines[i + 1] == "Column" and lines[i + 3] == "" and lines[i + 4] == "Data"
    columns = lines[i + 2].split("\t")
    rows = [ln.split("\t") for ln in lines[i + 5 :] if ln]
    return heading, columns, rows


def test_ale_and_csv_survive_hostile_clip_names(tmp_path, offloaded):
    import csv
    import io

    result, dests = offloaded
    cat = open_catalog(tmp_path / "cat.sqlite")
    record_offload(result, catalog=cat)
    a = str(dests[0] / "A001" / "CLIPS" / HOSTILE[1])
    record_probe([asset(a, "10:00:00:00", 23.976, 48, "FX6", "A001")], catalog=cat)
    hits = every_hit(cat)
    heading, columns, rows = parse_ale(ale_text(hits))
    assert heading["FIELD_DELIM"] == "TABS" and heading["FPS"] == "23.98"
    assert heading["VIDEO_FORMAT"] == "CUSTOM"  # UHD is not an Avid 1080 project
    assert tuple(columns) == ALE_COLUMNS
    assert len(rows) == len(HOSTILE) and all(len(r) == len(columns) for r in rows)
    weird = next(r for r in rows if r[0].startswith("we"))
    assert weird[0] == "we ird name [x]" and weird[2:5] == [
        "10:00:00:00",
        "10:00:02:00",
        "00:00:02:00",
    ]
    parsed = list(csv.reader(io.StringIO(csv_text(hits))))
    assert sorted(r[3] for r in parsed[1:]) == sorted(n.rsplit(".", 1)[0] for n in HOSTILE)


def test_timecode_drop_frame_round_trip():
    for frames in (0, 1799, 1800, 17981, 17982, 107892, 2589407):
        tc = timecode.from_frames(frames, 29.97, drop=True)
        assert timecode.to_frames(tc, 29.97) == frames
    assert timecode.from_frames(1800, 29.97, drop=True) == "00:01:00;02"
    assert timecode.end_of("23:59:59:24", 25, 1) == "00:00:00:00"


def cli() -> typer.Typer:
    from pipeline.cli import catalog as catalog_cli

    app = typer.Typer()

    @app.callback()
    def _root() -> None:
        pass

    catalog_cli.register(app)
    return app


def test_cli_search_show_export_import(tmp_path, offloaded, monkeypatch):
    import json

    result, dests = offloaded
    monkeypatch.setenv("RUSHLINE_CATALOG", str(tmp_path / "cli.sqlite"))
    runner = CliRunner()
    empty = runner.invoke(cli(), ["catalog", "search", "A001C001"])
    assert empty.exit_code == 1
    done = runner.invoke(cli(), ["catalog", "import", str(dests[0])])
    assert done.exit_code == 0, done.output
    out = runner.invoke(cli(), ["catalog", "search", "A001C001", "--json"])
    assert out.exit_code == 0 and json.loads(out.stdout)["clips"][0]["copies"][0]["volume"] == (
        "SHUTTLE1"
    )
    shown = runner.invoke(cli(), ["catalog", "show", "A[b]x"])
    assert shown.exit_code == 0 and "A[b]x" in shown.stdout and "verified (mhl)" in shown.stdout
    ale = tmp_path / "out.ale"
    ale.write_text("keep me")
    refused = runner.invoke(cli(), ["catalog", "export", "--ale", str(ale)])
    assert refused.exit_code != 0 and ale.read_text() == "keep me"
    forced = runner.invoke(
        cli(),
        ["catalog", "export", "--ale", str(ale), "--force", "--otio", str(tmp_path / "o.otio")],
    )
    assert forced.exit_code == 0, forced.output
    assert ale.read_text().startswith("Heading\nFIELD_DELIM\tTABS\n")
    assert (tmp_path / "o.otio").exists()
    assert find_clip(open_catalog(), str(dests[0] / "A001" / "CLIPS" / "-rf.mov"))
