"""`rushline probe` through the real CLI on names and metadata users really have.

Brackets that Rich would read as markup (`[/x]` in a path, `[/bold]` in an MP4 title,
`[red]x[/]` in an IPTC caption, `[/x]` as a camera make), a name starting with '-', a newline in
a name, NFD accents, ':' in a name, a symlink and a dangling one: every one is printed as its
literal text, the exit code says what happened, and no traceback escapes.
"""

from __future__ import annotations

import json
import os
import shutil
import unicodedata
from pathlib import Path

import pytest
from rights_media import make_jpeg, make_video
from typer.testing import CliRunner

from pipeline.cli import _common, app
from pipeline.tools import exiftool_exe, run

NFD = unicodedata.normalize("NFD", "été.jpg")


def _tag(path: Path, *assignments: str) -> None:
    run([exiftool_exe(), "-q", "-m", "-overwrite_original", *assignments, str(path)], what="tag")


@pytest.fixture(scope="module")
def card(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("card")
    base = make_jpeg(d / "base.jpg")
    _tag(base, "-IPTC:Caption-Abstract=[red]x[/]", "-EXIF:Make=[/x]", "-EXIF:Model=[bold]M")
    (d / "A[").mkdir()
    clip = make_video(d / "A[" / "x].MP4")
    _tag(clip, "-QuickTime:Title=[/bold]", "-QuickTime:Comment=[/bold]")
    for name in ("[brackets].jpg", "-o.jpg", "new\nline.jpg", NFD, "a:b.jpg"):
        shutil.copyfile(base, d / name)
    shutil.copyfile(clip, d / "-clip.mp4")
    os.symlink(d / "base.jpg", d / "link.jpg")
    return d


@pytest.fixture
def wide(monkeypatch):
    """A console wide enough that no name is folded across lines of the table."""
    monkeypatch.setattr(_common.console, "_width", 400)


def _clean(result) -> None:
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    assert "Traceback" not in result.output
    assert "MarkupError" not in result.output and "internal error" not in result.output


def test_probe_table_prints_hostile_names_and_metadata_literally(card, wide):
    r = CliRunner().invoke(app, ["probe", str(card)])
    _clean(r)
    assert r.exit_code == 0, r.output
    out = r.stdout
    for literal in ("A[/x].MP4", "[brackets].jpg", "-o.jpg", "new\\nline.jpg", "a:b.jpg",
                    "link.jpg", "-clip.mp4", "[/x] [bold]M"):  # fmt: skip
        assert literal in out, literal
    assert unicodedata.normalize("NFC", out).count("été.jpg") == 1


def test_probe_json_carries_bracketed_metadata_exactly(card):
    r = CliRunner().invoke(app, ["probe", "--json", str(card / "A["), str(card / "base.jpg")])
    _clean(r)
    assert r.exit_code == 0
    clip, photo = json.loads(r.stdout)
    assert clip["path"].endswith("A[/x].MP4") and clip["clip_name"] == "[/bold]"
    assert photo["camera"] == "[/x] [bold]M"


def test_probe_dangling_symlink_is_a_per_file_error_exit_1(tmp_path, wide):
    good = make_jpeg(tmp_path / "[ok].jpg")
    (tmp_path / "dangling[").mkdir()
    os.symlink(tmp_path / "gone.jpg", tmp_path / "dangling[/x].jpg")
    r = CliRunner().invoke(app, ["probe", str(tmp_path)])
    _clean(r)
    assert r.exit_code == 1
    assert "dangling[/x].jpg" in r.stdout and "file not found" in r.stdout
    assert good.name in r.stdout
    assert "1 of 2 files could not be read" in r.stderr
    # Named directly, a dangling link is the same per-file error, not "no such file".
    r = CliRunner().invoke(app, ["probe", str(tmp_path / "dangling[/x].jpg")])
    _clean(r)
    assert r.exit_code == 1 and "file not found" in r.stdout


def test_probe_missing_path_with_markup_is_one_literal_line(tmp_path):
    r = CliRunner().invoke(app, ["probe", str(tmp_path / "[/nope]")])
    _clean(r)
    assert r.exit_code == 1
    assert f"{tmp_path}/[/nope]: no such file or folder" in r.stderr


def test_probe_newline_name_reads_provenance_through_exiftool(card):
    r = CliRunner().invoke(app, ["probe", "--json", str(card / "new\nline.jpg")])
    _clean(r)
    (asset,) = json.loads(r.stdout)
    assert asset["error"] is None and asset["ai"] is not None
    assert not any("not read" in n for n in asset["notes"])
