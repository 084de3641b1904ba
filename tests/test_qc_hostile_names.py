"""Hostile names through `rushline qc` (typer's CliRunner): `[/x]` in a path, a leading '-', a
newline, NFD accents, ':' in a name, a symlink to a clip, a dangling symlink. Right exit codes,
no traceback, no Rich MarkupError; names shown escaped on one line."""

from __future__ import annotations

import json
import os
import shutil
import unicodedata
from pathlib import Path

import pytest
from qc_media import build_all
from typer.testing import CliRunner

from pipeline.cli import app

PROFILE = "name: p\ntitle: P\nsummary: tests\nkind: web\nsource:\n  document: tests\n"
NFD = unicodedata.normalize("NFD", "Séquence été.wav")


@pytest.fixture(scope="module")
def card(tmp_path_factory) -> Path:
    media = build_all()
    root = tmp_path_factory.mktemp("hostile") / "CARD"
    bracket = root / "A["
    bracket.mkdir(parents=True)
    shutil.copy(media["video_only.mov"], bracket / "x].MP4")  # path holds "A[/x].MP4"
    (bracket / "y].MOV").write_text("a text file, not a programme\n")  # error naming "A[/y]"
    shutil.copy(media["video_only.mov"], root / "-lead.mov")
    shutil.copy(media["video_only.mov"], root / "new\nline.mov")
    shutil.copy(media["room_tone.wav"], root / NFD)
    shutil.copy(media["video_only.mov"], root / "10:00:00 take.mov")
    os.symlink(bracket / "x].MP4", root / "link.mov")
    os.symlink(root / "gone.mov.missing", root / "dangling.mov")
    return root


@pytest.fixture()
def profile(tmp_path) -> str:
    p = tmp_path / "p.yaml"
    p.write_text(PROFILE, encoding="utf-8")
    return str(p)


def qc(*args: str):
    return CliRunner().invoke(app, ["qc", *args])


def _clean(res) -> None:
    assert res.exception is None or isinstance(res.exception, SystemExit), repr(res.exception)
    assert "Traceback" not in res.output and "MarkupError" not in res.output


GOOD = ["A[/x].MP4", "-lead.mov", "new\nline.mov", NFD, "10:00:00 take.mov", "link.mov"]


@pytest.mark.parametrize("rel", GOOD, ids=["brackets", "dash", "newline", "nfd", "colon", "link"])
def test_each_hostile_name_is_measured(card, profile, tmp_path, rel):
    out = tmp_path / "r.json"
    res = qc(str(card / rel), "-p", profile, "--json", str(out), "--html", str(tmp_path / "r.html"))
    _clean(res)
    assert res.exit_code == 0, res.output
    data = json.loads(out.read_text())
    assert data["verdict"] == "pass" and data["file"] == str(card / rel)
    assert (tmp_path / "r.html").is_file()
    shown = Path(rel).name.replace("\n", "\\n")
    assert shown in res.output.replace("\n", "") or shown[:8] in res.output


def test_json_on_stdout_with_a_bracket_path(card, profile):
    res = qc(str(card / "A[" / "x].MP4"), "-p", profile, "--json", "-")
    _clean(res)
    assert res.exit_code == 0
    data = json.loads(res.stdout[res.stdout.index("{") : res.stdout.rindex("}") + 1])
    assert data["file"].endswith("A[/x].MP4")


@pytest.mark.parametrize("rel", ["A[/y].MOV", "dangling.mov"], ids=["bracket-error", "dangling"])
def test_a_broken_hostile_file_is_exit_2_with_its_name_escaped(card, profile, rel):
    res = qc(str(card / rel), "-p", profile)
    _clean(res)
    assert res.exit_code == 2
    assert "error:" in res.output
    assert Path(rel).name in res.output


def test_the_whole_hostile_card(card, profile, tmp_path, monkeypatch):
    from pipeline.cli import _common

    monkeypatch.setattr(_common.console, "width", 400)  # whole names in the table's cells
    out, html = tmp_path / "json", tmp_path / "html"
    res = qc(str(card), "-p", profile, "--json", str(out), "--html", str(html))
    _clean(res)
    assert res.exit_code == 2, res.output  # the text file and the dangling link; the batch went on
    reports = {json.loads(p.read_text())["file"]: json.loads(p.read_text()) for p in out.iterdir()}
    for rel in GOOD:
        assert reports[str(card / rel)]["verdict"] == "pass", rel
    assert reports[str(card / "A[" / "y].MOV")]["verdict"] == "error"
    assert reports[str(card / "dangling.mov")]["verdict"] == "error"
    assert "not found" in reports[str(card / "dangling.mov")]["error"]
    assert (html / "index.html").is_file() and len(list(html.glob("*.qc.html"))) == 8
    # the newline is shown as \\n: one file, one table row
    assert "new\\nline.mov" in res.output
    assert not any(line.startswith("line.mov") for line in res.output.splitlines())
