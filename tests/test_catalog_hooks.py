"""The commands tell the catalogue: an offload through the CLI lands in it (both copies
verified); a corrupt catalogue never fails the offload (exit 0, copies verified, one warning);
`--no-catalog` and RUSHLINE_CATALOG=off write nothing; QC and rights hooks record; `catalog
import --probe` records what each imported file is."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from pipeline.catalog import hooks
from pipeline.catalog.db import CatalogError, open_catalog
from pipeline.catalog.search import find_clip, search
from pipeline.cli import app
from pipeline.offload import offload
from pipeline.qc.findings import Finding, QCResult, Severity, Verdict
from pipeline.rights.apply import RightsResult
from pipeline.rights.batch import ApplyOutcome

NAMES = ["A001C001.mov", "A[b]x.mov", "-rf.mov", "we\nird.mov"]


def card(root: Path) -> Path:
    c = root / "card" / "A001"
    (c / "CLIPS").mkdir(parents=True)
    for i, name in enumerate(NAMES):
        (c / "CLIPS" / name).write_bytes(os.urandom(3000 + i))
    return c


def offload_cli(tmp_path: Path, *extra: str):
    src = card(tmp_path)
    dests = [tmp_path / "SHUTTLE1", tmp_path / "RAID"]
    for d in dests:
        d.mkdir()
    args = ["offload", str(src), "-d", str(dests[0]), "-d", str(dests[1]), "--no-thumbnails"]
    out = tmp_path / "result.json"
    result = CliRunner().invoke(app, [*args, "--json", str(out), *extra])
    return result, dests, out


def test_offload_through_the_cli_lands_in_the_catalogue(tmp_path, monkeypatch):
    db = tmp_path / "cat" / "catalog.sqlite"
    monkeypatch.setenv("RUSHLINE_CATALOG", str(db))
    result, dests, _ = offload_cli(tmp_path)
    assert result.exit_code == 0, result.stdout + result.stderr
    assert "catalogue" not in result.stderr
    cat = open_catalog()
    hits = search(cat, "A001C001").clips
    assert [h.name for h in hits] == ["A001C001"]
    assert {k.volume for k in hits[0].copies} == {"SHUTTLE1", "RAID"}
    assert all(k.verified == "full" and k.mhl_generation == 1 for k in hits[0].copies)
    assert hits[0].verified_copies == 2
    assert search(cat, "on:shuttle1 copies:>=2").total == len(NAMES)
    hostile = find_clip(cat, str(dests[1] / "A001" / "CLIPS" / "we\nird.mov"))
    assert [h.name for h in hostile] == ["we\nird"]


def test_corrupt_catalogue_never_fails_the_offload(tmp_path, monkeypatch):
    db = tmp_path / "catalog.sqlite"
    db.write_bytes(b"this is not a database" * 100)
    monkeypatch.setenv("RUSHLINE_CATALOG", str(db))
    result, dests, out = offload_cli(tmp_path)
    assert result.exit_code == 0, result.stdout + result.stderr
    warning = " ".join(result.stderr.split())
    assert "the catalogue was not updated" in warning and str(db.name) in warning
    assert warning.count("warning:") == 1
    report = json.loads(out.read_text())
    assert report["exit_code"] == 0
    assert all(o["verified"] == "full" for f in report["files"] for o in f["outcomes"])
    for d in dests:
        copied = sorted(p.name for p in (d / "A001" / "CLIPS").iterdir())
        assert copied == sorted(NAMES)
    assert db.read_bytes() == b"this is not a database" * 100  # left for the user to move


@pytest.mark.parametrize("how", ["flag", "env"])
def test_no_catalog_writes_nothing(tmp_path, monkeypatch, how):
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    if how == "flag":
        monkeypatch.delenv("RUSHLINE_CATALOG", raising=False)
        result, _, _ = offload_cli(tmp_path, "--no-catalog")
    else:
        monkeypatch.setenv("RUSHLINE_CATALOG", "off")
        result, _, _ = offload_cli(tmp_path)
        with pytest.raises(CatalogError, match="turned off"):
            open_catalog()
    assert result.exit_code == 0, result.stdout + result.stderr
    assert not (tmp_path / "xdg").exists() and not Path("off").exists()


def test_default_catalogue_honours_xdg_data_home(tmp_path, monkeypatch):
    monkeypatch.delenv("RUSHLINE_CATALOG", raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    src = card(tmp_path)
    (tmp_path / "D").mkdir()
    res = offload(src, [tmp_path / "D"])
    assert hooks.offload_done([res]) is None
    assert (tmp_path / "xdg" / "rushline" / "catalog.sqlite").is_file()
    assert search(open_catalog(), "A001C001").total == 1


def test_qc_and_rights_hooks_record_and_a_failure_is_one_line(tmp_path, monkeypatch):
    monkeypatch.setenv("RUSHLINE_CATALOG", str(tmp_path / "c.sqlite"))
    src = card(tmp_path)
    (tmp_path / "D").mkdir()
    res = offload(src, [tmp_path / "D"])
    copy = tmp_path / "D" / "A001" / "CLIPS" / "A[b]x.mov"
    qc = QCResult(
        file=str(copy),
        profile="web-h264",
        verdict=Verdict.FAIL,
        findings=[Finding(check="loudness", severity=Severity.ERROR, message="too loud")],
    )
    outcome = ApplyOutcome(
        template="house",
        results=[
            RightsResult(path=str(copy), action="sidecar", target=str(copy) + ".xmp"),
            RightsResult(path=str(tmp_path / "gone.mov"), action="error", error="missing"),
        ],
    )
    assert hooks.offload_done([res]) is None
    assert hooks.qc_done([qc]) is None
    assert hooks.rights_done(outcome) is None
    cat = open_catalog()
    assert [h.name for h in search(cat, "verdict:fail").clips] == ["A[b]x"]
    from sqlalchemy import select

    from pipeline.catalog.schema import RightsRecord

    with cat.read() as s:
        rows = s.execute(select(RightsRecord.file, RightsRecord.fields)).all()
    assert [(Path(f).name, d["carried_in"]) for f, d in rows] == [("A[b]x.mov", str(copy) + ".xmp")]
    cat.close()
    (tmp_path / "c.sqlite").write_bytes(b"garbage" * 1000)
    for p in tmp_path.glob("c.sqlite-*"):
        p.unlink()
    warning = hooks.qc_done([qc])
    assert warning and "\n" not in warning and warning.startswith("the catalogue was not updated")


def test_import_with_probe_records_what_each_file_is(tmp_path, monkeypatch, samples):
    monkeypatch.setenv("RUSHLINE_CATALOG", str(tmp_path / "c.sqlite"))
    src = Path(samples["root"]) / samples["cards"]["B_A001"]["path"]
    (tmp_path / "SHUTTLE1").mkdir()
    assert offload(src, [tmp_path / "SHUTTLE1"], values={"roll": "A001"}).exit_code == 0
    r = CliRunner().invoke(app, ["catalog", "import", str(tmp_path / "SHUTTLE1"), "--probe"])
    assert r.exit_code == 0, r.stdout + r.stderr
    assert "probe facts recorded for 3 clips" in " ".join(r.stdout.split())
    hits = search(open_catalog(), "camera:alexa").clips
    assert hits and all(h.codec and h.start_tc and h.fps for h in hits)
    assert all(h.copies[0].verified == "mhl" for h in hits)
    assert search(open_catalog(), "mhl").total == 0  # manifests are not clips
