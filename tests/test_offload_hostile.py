"""Hostile names through `rushline offload` and `rushline verify` (brackets that look like Rich
markup, a leading '-', a newline, NFD accents, a dangling symlink), and NFC/NFD twins on one
card: never merged, never one over the other, each reported, the rest copied."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import unicodedata
from pathlib import Path

from typer.testing import CliRunner

from pipeline.cli import app
from pipeline.offload import Failure, FileStatus, offload

BIN = Path(sys.executable).parent
ACCENTED = "Ren\u00e9e_\u00c5ngstr\u00f6m.MOV"


def no_traceback(r) -> None:
    assert r.exception is None or isinstance(r.exception, SystemExit), repr(r.exception)
    assert "Traceback" not in r.output


def hostile_card(root: Path) -> dict[str, bytes]:
    files = {
        "A[/x].MP4": os.urandom(3000),  # folder 'A[' holding 'x].MP4': '[/x]' is a Rich tag
        "[/x].mov": os.urandom(3000),
        "-lead.MOV": os.urandom(2_000_000),
        "new\nline.MOV": os.urandom(3000),
        unicodedata.normalize("NFD", ACCENTED): os.urandom(3000),
        "[bold]x[/bold].MXF": os.urandom(3000),
    }
    for rel, data in files.items():
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(data)
    (root / "A[" / "dangling].lnk").symlink_to(root / "nowhere[/x]")
    return files


def test_hostile_names_through_offload_and_verify(tmp_path):
    src = tmp_path / "cards" / "A[1]"
    files = hostile_card(src)
    d1, d2 = tmp_path / "ssd1", tmp_path / "ssd2"
    d1.mkdir()
    d2.mkdir()
    out = tmp_path / "r.json"
    r = CliRunner().invoke(
        app, ["offload", str(src), "-d", str(d1), "-d", str(d2), "--json", str(out)]
    )
    no_traceback(r)
    assert r.exit_code == 0, r.output
    assert "A[/dangling].lnk" in r.output  # the notice, shown as text, not markup
    for d in (d1, d2):
        for rel, data in files.items():
            assert (d / "A[1]" / rel).read_bytes() == data, rel
    assert len(json.loads(out.read_text())["files"]) == len(files)

    roll = d1 / "A[1]"
    r = CliRunner().invoke(app, ["verify", str(roll)])
    no_traceback(r)
    assert r.exit_code == 0 and f"{len(files)} files verified" in r.output
    (roll / "A[" / "x].MP4").write_bytes(b"changed")
    (roll / "new\nline.MOV").unlink()
    (roll / "[" / "new].mov").write_bytes(b"new")
    r = CliRunner().invoke(app, ["verify", str(roll)])
    no_traceback(r)
    assert r.exit_code == 21
    assert "altered  A[/x].MP4" in r.output and "new\\nline.MOV" in r.output
    assert "[/new].mov" in r.output
    r = CliRunner().invoke(app, ["verify", str(roll), "--json"])
    no_traceback(r)
    assert json.loads(r.stdout)["altered"][0]["path"] == "A[/x].MP4"


def test_nfc_nfd_twins_are_reported_not_merged(tmp_path):
    src = tmp_path / "cards" / "T001"
    src.mkdir(parents=True)
    nfc_name = unicodedata.normalize("NFC", ACCENTED)
    nfd_name = unicodedata.normalize("NFD", ACCENTED)
    assert nfc_name != nfd_name
    (src / nfc_name).write_bytes(b"one take")
    (src / nfd_name).write_bytes(b"another take")  # Linux allows both in one folder
    (src / "OTHER.MOV").write_bytes(os.urandom(4000))
    d1 = tmp_path / "ssd"
    d1.mkdir()
    res = offload(src, [d1])
    assert res.exit_code == Failure.CONFLICT
    twins = [f for f in res.files if f.path in (nfc_name, nfd_name)]
    assert len(twins) == 2
    for f in twins:
        assert f.failure == Failure.CONFLICT and "normalisation" in f.error
        assert str(src / f.path) in f.error
    # neither twin was written over the other (nor at all); the rest is copied and recorded
    assert sorted(p.name for p in (d1 / "T001").iterdir()) == ["OTHER.MOV", "_rushline", "ascmhl"]
    other = next(f for f in res.files if f.path == "OTHER.MOV")
    assert other.outcomes[0].status == FileStatus.COPIED
    ok = subprocess.run([str(BIN / "ascmhl-debug"), "verify", str(d1 / "T001")])
    assert ok.returncode == 0
    r = CliRunner().invoke(app, ["offload", str(src), "-d", str(tmp_path / "ssd")])
    no_traceback(r)
    assert r.exit_code == 15 and "normalisation" in r.output
