"""The catalogue on PostgreSQL as well as SQLite: every table, index, migration step and search
filter compiles for postgresql (no server needed), and on a real throwaway PostgreSQL cluster a
real offload, its probe/QC/rights facts, every search filter, an import from the MHL histories
and the ALE export give what the same steps give on SQLite."""

from __future__ import annotations

import math
import multiprocessing
import os
import pwd
import shutil
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import unavailable
from sqlalchemy import create_engine, create_mock_engine, select, text
from sqlalchemy.dialects import postgresql
from sqlalchemy.schema import CreateIndex, CreateTable

from pipeline.archive.records import ArchiveBase, ArchivedEntry, record_archive, where_archived
from pipeline.catalog.db import Catalog, open_catalog
from pipeline.catalog.export import ale_text
from pipeline.catalog.importer import import_path
from pipeline.catalog.migrate import LATEST, MIGRATIONS
from pipeline.catalog.record import (
    record_offload,
    record_probe,
    record_qc,
    record_rating,
    record_rights,
)
from pipeline.catalog.rights_register import RegisterBase, read_entries
from pipeline.catalog.schema import PG_INDEXES, Base, QCRecord, RightsRecord, SchemaVersion
from pipeline.catalog.search import build, every_hit, find_clip, search
from pipeline.offload import offload
from pipeline.probe import probe_paths
from pipeline.qc.findings import Finding, QCResult, Severity, Verdict
from pipeline.rights.register import import_register

PG = postgresql.dialect()
HOSTILE = ["we\tird\nname [x].mov", "-rf.mov", "A[b]x.mov"]
FILTERS = [
    "camera:FX6",
    "camera:sony",
    "reel:A001",
    "reel:a0",
    "roll:a001",
    "tc:14:23:10:00",
    "tc:14:23:14:00",
    "date:{day}",
    "date:{day}..{day}",
    "date:1999-01-01",
    "verdict:fail",
    "verdict:none",
    "on:shuttle1",
    "on:RAID copies:>=2",
    "copies:<2",
    "copies:>=2",
    "codec:avc",
    "label:select",
    "rating:>=3",
    "name:C0001",
    "C0001",
    "c000 on:SHUTTLE1",
    "fx6",
    "ILME",
    "mp4",
    "-rf",
    "A[b]x",
    "name [x]",
    '"',
    "NEAR(",
    ":",
    "verdict:fail camera:FX6",
]


# --- (a) without a server: everything compiles for postgresql -------------------------------


def _mock_ddl(run: Any) -> list[str]:
    """The DDL `run(connection)` would send to PostgreSQL, compiled for it."""
    out: list[str] = []
    engine = create_mock_engine(
        "postgresql+psycopg://", lambda sql, *a, **k: out.append(str(sql.compile(dialect=PG)))
    )
    run(engine)
    return out


@pytest.mark.parametrize("metadata", [Base.metadata, RegisterBase.metadata, ArchiveBase.metadata])
def test_every_table_and_index_compiles_for_postgresql(metadata):
    for table in metadata.sorted_tables:
        assert f"CREATE TABLE {table.name}" in str(CreateTable(table).compile(dialect=PG))
    ddl = _mock_ddl(lambda e: metadata.create_all(e, checkfirst=False))
    assert len([s for s in ddl if "CREATE TABLE" in s]) == len(metadata.tables)
    assert not [s for s in ddl if "NOCASE" in s.upper()]  # SQLite's collation stays on SQLite
    for index in PG_INDEXES if metadata is Base.metadata else ():
        sql = str(CreateIndex(index).compile(dialect=PG))
        assert "lower(" in sql and any(sql in s for s in ddl)
    if metadata is Base.metadata:
        clips = next(s for s in ddl if "CREATE TABLE clips" in s)
        assert "size BIGINT" in clips and "VARCHAR" not in clips  # > 2 GiB; no length limit


def test_every_migration_step_compiles_for_postgresql():
    ddl = _mock_ddl(lambda e: [step(e) for _, _, step in MIGRATIONS])
    assert any("CREATE TABLE clips" in s for s in ddl)
    assert not [s for s in ddl if "NOCASE" in s.upper() or "fts5" in s.lower()]
    assert sum("CREATE INDEX IF NOT EXISTS ix_clips_reel_lower" in s for s in ddl) == 1
    assert any("ON rolls (lower(name) text_pattern_ops)" in s for s in ddl)


@pytest.mark.parametrize("query", FILTERS)
def test_every_search_compiles_for_postgresql(query):
    sql = str(build(query.format(day="2026-11-22"), fts=False).compile(dialect=PG))
    assert "NOCASE" not in sql.upper() and "clip_fts" not in sql
    if query.split(":")[0] in ("reel", "roll", "on", "camera", "name", "codec", "label"):
        assert "lower(" in sql
    lite = str(build(query.format(day="2026-11-22"), fts=True).compile())
    if query.startswith(("on:", "reel:")):
        assert "NOCASE" in lite.upper() or "LIKE" in lite  # SQLite keeps its indexes


# --- (b) a real PostgreSQL cluster ----------------------------------------------------------


def _pg_bindir() -> Path | None:
    found = sorted(
        Path("/usr/lib/postgresql").glob("*/bin/initdb"),
        key=lambda p: int(p.parts[-3]) if p.parts[-3].isdigit() else 0,
    )
    if found:
        return found[-1].parent
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


@pytest.fixture(scope="module")
def pg_server() -> Iterator[str]:
    """A throwaway cluster in a temporary folder, reached over its Unix socket only; yields
    the URL of its `postgres` database and stops the server it started at the end."""
    bindir = _pg_bindir()
    if bindir is None:
        unavailable("PostgreSQL is not installed (Debian package postgresql; `make setup`)")
    base = Path(tempfile.mkdtemp(prefix="rushline-pg-"))
    data, sock = base / "data", base / "sock"
    sock.mkdir()
    as_user: list[str] = []
    if os.geteuid() == 0:  # initdb and postgres refuse to run as root
        owner = pwd.getpwnam("postgres")
        for p in (base, sock):
            os.chown(p, owner.pw_uid, owner.pw_gid)
        # runuser lives in /usr/sbin, which a user's PATH may not hold
        runuser = shutil.which("runuser", path=f"{os.environ.get('PATH', '')}:/usr/sbin:/sbin")
        as_user = [runuser or "/usr/sbin/runuser", "-u", "postgres", "--"]

    def run(*cmd: str) -> None:
        subprocess.run([*as_user, *cmd], check=True, capture_output=True, timeout=120)

    pid = None
    try:
        run(str(bindir / "initdb"), "-D", str(data), "-U", "rushline", "-A", "trust",
            "-E", "UTF8", "--no-locale")  # fmt: skip
        opts = f"-k {sock} -p 5432 -c listen_addresses='' -c fsync=off"
        run(str(bindir / "pg_ctl"), "-D", str(data), "-l", str(base / "log"), "-o", opts,
            "-w", "start")  # fmt: skip
        pid = int((data / "postmaster.pid").read_text().split()[0])
        yield f"postgresql+psycopg://rushline@/postgres?host={sock}&port=5432"
    finally:
        if pid is not None:
            try:
                run(str(bindir / "pg_ctl"), "-D", str(data), "-m", "fast", "-w", "stop")
            except subprocess.SubprocessError:
                os.kill(pid, 15)  # the postmaster we started, by its pid
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture
def pg_url(pg_server: str) -> str:
    """A new, empty database on the cluster for one test."""
    return _new_database(pg_server)


@pytest.fixture(scope="module")
def shot(samples, tmp_path_factory) -> tuple[Any, list[Path]]:
    """A real offload (real ASC MHL) of the FX6 sample card plus hostile names, to 2 drives."""
    tmp = tmp_path_factory.mktemp("shot")
    card = tmp / "card"
    shutil.copytree(Path(samples["root"]) / samples["cards"]["A_XDCAM"]["path"], card)
    for i, name in enumerate(HOSTILE):
        (card / "PRIVATE" / "M4ROOT" / "CLIP" / name).write_bytes(os.urandom(1000 + i))
    dests = [tmp / "SHUTTLE1", tmp / "RAID"]
    for d in dests:
        d.mkdir()
    result = offload(card, dests, values={"roll": "A001"})
    assert result.exit_code == 0
    return result, dests


def _record_everything(cat: Catalog, result: Any, dests: list[Path]) -> None:
    record_offload(result, catalog=cat)
    record_offload(result, catalog=cat)  # twice is once
    clips = dests[0] / "A001" / "PRIVATE" / "M4ROOT" / "CLIP"
    assets = [a for a in probe_paths([clips], provenance=False) if a.path.endswith(".MP4")]
    assert len(assets) >= 2 and record_probe(assets, catalog=cat).clips == len(assets)
    first = str(clips / "C0001.MP4")
    qc = QCResult(
        file=first,
        profile="netflix",
        verdict=Verdict.FAIL,
        measurements={"integrated_lufs": -math.inf, "true_peak": -1.5},
        findings=[Finding(check="loudness", severity=Severity.ERROR, message="silent")],
    )
    record_qc(qc, catalog=cat)
    record_qc(qc, catalog=cat)
    record_rating([first], rating=4, labels=["select"], catalog=cat)
    fields = {"copyright": "© Prod [x]", "uses": ["TV", "VOD"]}
    record_rights([first, first], "house.yaml", fields=fields, catalog=cat)  # a duplicate too


def _answers(cat: Catalog, day: str) -> dict[str, list[str]]:
    out = {}
    for query in FILTERS:
        q = query.format(day=day)
        found = search(cat, q)
        out[q] = sorted(h.path for h in found.clips)
        assert found.total == len(found.clips)
    return out


def test_postgresql_answers_like_sqlite(pg_url, shot, tmp_path):
    result, dests = shot
    day = result.files[0].mtime[:10]
    runs = {}
    for where in (str(tmp_path / "cat.sqlite"), pg_url):
        cat = open_catalog(where)
        _record_everything(cat, result, dests)
        runs[cat.dialect] = (cat, _answers(cat, day), ale_text(every_hit(cat)))
    (lite, lite_found, lite_ale), (pg, pg_found, pg_ale) = runs["sqlite"], runs["postgresql"]
    assert pg_found == lite_found
    assert pg_ale == lite_ale and "C0001" in pg_ale
    assert pg_found["camera:FX6"] and pg_found["tc:14:23:10:00"][0].endswith("C0001.MP4")
    assert pg_found["verdict:fail"] == pg_found["label:select"] == pg_found["rating:>=3"]
    assert len(pg_found["on:shuttle1"]) == len(result.files) == len(pg_found["copies:>=2"])
    assert pg_found["A[b]x"] == ["PRIVATE/M4ROOT/CLIP/A[b]x.mov"] and not pg_found["copies:<2"]
    hit = search(pg, "name:C0001").clips[0]
    assert {k.volume for k in hit.copies} == {"SHUTTLE1", "RAID"} and hit.hashes["xxh128"]
    assert all(k.verified == "full" and k.mhl_generation == 1 for k in hit.copies)
    assert find_clip(pg, str(dests[0] / "A001" / "PRIVATE" / "M4ROOT" / "CLIP" / "-rf.mov"))
    with pg.read() as s:
        measured = s.scalars(select(QCRecord.measurements)).one()
        assert measured == {"integrated_lufs": None, "true_peak": -1.5}  # PostgreSQL's JSON
        assert s.scalars(select(RightsRecord.fields)).one()["uses"] == ["TV", "VOD"]
        versions = s.execute(select(SchemaVersion.version)).scalars().all()
        assert versions == [1, 2, LATEST] == [1, 2, 3]
    with lite.read() as s:
        assert s.scalars(select(QCRecord.measurements)).one()["integrated_lufs"] == -math.inf
    for cat, _, _ in runs.values():
        cat.close()


def test_postgresql_catalogue_rebuilt_from_mhl_histories(pg_server, pg_url, shot):
    result, dests = shot
    cat = open_catalog(pg_url)
    record_offload(result, catalog=cat)
    before = {h.path: h.hashes for h in every_hit(cat)}
    fresh = open_catalog(_new_database(pg_server))
    for d in dests:
        summary = import_path(d, catalog=fresh)
        assert summary.rolls == ["A001"] and not summary.missing and not summary.problems
    import_path(dests[0], catalog=fresh)  # twice is once
    after = every_hit(fresh)
    assert {h.path: h.hashes for h in after} == before
    assert all(h.verified_copies == 2 for h in after)
    assert all(k.verified == "mhl" and k.mhl_generation == 1 for k in after[0].copies)
    assert search(fresh, "on:raid copies:2").total == len(result.files)
    assert ale_text(after) == ale_text(every_hit(cat))
    cat.close()
    fresh.close()


def _new_database(server: str) -> str:
    name = "t_" + uuid.uuid4().hex[:12]
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return server.replace("/postgres?", f"/{name}?")


def test_postgresql_rights_register_and_archive_tables(pg_url, shot, tmp_path):
    result, dests = shot
    cat = open_catalog(pg_url)
    record_offload(result, catalog=cat)
    register = tmp_path / "register [v1].csv"
    register.write_text(
        "ref,kind,title,rights_holder,licence,status,uses,territories,start,end,fee_reference,"
        "ai,linked,notes\nMUS-001,music,Nocturne,Éditions,sync,cleared,TV;VOD,WW,2026-01-01,"
        "2027-01-31,INV-22,,C0001,\n",
        encoding="utf-8",
    )
    assert import_register(register, catalog=cat) == 1
    assert import_register(register, catalog=cat) == 1
    (entry,) = read_entries(cat)
    assert entry["uses"] == ["TV", "VOD"] and entry["linked"] == ["C0001"]
    source = str(dests[0] / "A001" / "PRIVATE" / "M4ROOT" / "CLIP" / "C0001.MP4")
    archived = ArchivedEntry("data/C0001.MP4", source, 7_000_000_000, {"sha256": "ab" * 32})
    assert record_archive("P_2026_roll_001", str(tmp_path / "LTO001"), [archived], catalog=cat)
    (row,) = where_archived(source, catalog=cat)
    assert row["size"] == 7_000_000_000  # a BIGINT on PostgreSQL
    assert search(cat, "name:C0001 copies:3").total == 1  # the bag counts as a verified copy
    cat.close()


def _record_in_child(url: str, result_json: str, rounds: int) -> int:
    from pipeline.offload import OffloadResult

    result = OffloadResult.model_validate_json(result_json)
    for _ in range(rounds):
        record_offload(result, catalog=url)
    return len(result.files)


def test_two_processes_create_and_write_one_postgresql_catalogue(pg_url):
    from test_catalog import synthetic

    jobs = [synthetic(roll, 300, "/mnt/SHUTTLE1").model_dump_json() for roll in ("A001", "B001")]
    with multiprocessing.get_context("spawn").Pool(2) as pool:  # both migrate a new database
        done = pool.starmap(_record_in_child, [(pg_url, j, 2) for j in jobs])
    assert done == [300, 300]
    cat = open_catalog(pg_url)
    assert search(cat, "roll:a001").total == 300 and search(cat, "roll:B001").total == 300
    assert search(cat, "on:shuttle1 copies:1").total == 600
    with cat.read() as s:
        assert s.execute(select(SchemaVersion.version)).scalars().all() == [1, 2, 3]
    cat.close()
