"""`rushline rights apply|show|check` through the real CLI on hostile names and values.

A newline in a name (which an ExifTool argument file cannot carry), `[brackets]` and `A[/x]`,
a leading '-' (an option to ExifTool unless made safe), NFD accents, ':' in a name, symlinks
and a dangling one, and template values that look like Rich markup: every command finishes
with the right exit code, prints the literal text, and the rights read back.
"""

from __future__ import annotations

import json
import os
import shutil
import unicodedata
from pathlib import Path

import pytest
from rights_media import exiftool_read, make_bwf, make_jpeg, make_tiff16, make_video, sha256
from typer.testing import CliRunner

from pipeline.cli import _common, app

NFD = unicodedata.normalize("NFD", "été")
NAMES = ["new\nline", "[brackets]", "-o", f"{NFD}", "a:b"]
TEMPLATE = """
creator: "[bold]A[/]"
copyright_notice: "© 2026 [red]x[/]"
title: "{filename}"
"""


@pytest.fixture(scope="module")
def media(tmp_path_factory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("media")
    return {
        ".jpg": make_jpeg(d / "m.jpg"),
        ".tif": make_tiff16(d / "m.tif"),
        ".mp4": make_video(d / "m.mp4"),
        ".wav": make_bwf(d / "m.wav"),
    }


@pytest.fixture
def tpl(tmp_path) -> Path:
    p = tmp_path / "-t[x].yaml"  # a template name that is neither an option nor markup
    p.write_text(TEMPLATE, encoding="utf-8")
    return p


@pytest.fixture
def card(tmp_path, media) -> Path:
    """Every hostile name as a JPEG, the newline name in every embeddable format, A[/x]."""
    d = tmp_path / "card"
    d.mkdir()
    for name in NAMES:
        shutil.copyfile(media[".jpg"], d / f"{name}.jpg")
    for ext in (".tif", ".mp4", ".wav"):
        shutil.copyfile(media[ext], d / f"nl\n{ext[1:]}{ext}")
    (d / "A[").mkdir()
    shutil.copyfile(media[".jpg"], d / "A[" / "x].jpg")
    return d


@pytest.fixture
def wide(monkeypatch):
    monkeypatch.setattr(_common.console, "_width", 400)


def invoke(*args: str):
    r = CliRunner().invoke(app, list(args))
    assert r.exception is None or isinstance(r.exception, SystemExit), r.output
    assert "Traceback" not in r.output and "internal error" not in r.output
    return r


def _files(card: Path) -> list[Path]:
    return sorted(p for p in card.rglob("*") if p.is_file() and p.suffix != ".xmp")


def test_apply_sidecars_for_hostile_names(card, tpl, wide):
    before = {p: sha256(p) for p in _files(card)}
    r = invoke("rights", "apply", "-t", str(tpl), str(card))
    assert r.exit_code == 0, r.output
    for p in before:
        sidecar = p.with_name(f"{p.stem}.xmp")
        row = exiftool_read(sidecar)
        assert row["XMP-dc:Title"] == p.name  # {filename}, newline and all
        assert row["XMP-dc:Creator"] in (["[bold]A[/]"], "[bold]A[/]")
    assert {p: sha256(p) for p in before} == before  # sidecars only: files untouched
    assert "new\\nline.jpg" in r.stdout and "A[/x].jpg" in r.stdout and "-o.xmp" in r.stdout
    assert f"{len(before)} sidecar" in r.stdout


def test_apply_embed_into_hostile_names_then_show_and_check(card, tpl, wide):
    r = invoke("rights", "apply", "-t", str(tpl), "--embed", str(card))
    assert r.exit_code == 0, r.output
    files = _files(card)
    assert len(files) == len(NAMES) + 4
    for p in files:
        row = exiftool_read(p)
        assert row["XMP-dc:Title"] == p.name, p
        assert row["XMP-dc:Rights"] == "© 2026 [red]x[/]"
    assert not list(card.rglob("*.xmp")) and not list(card.rglob(".*"))  # no sidecar, no temp
    assert f"{len(files)} embedded" in r.stdout
    show = invoke("rights", "show", str(card))
    assert show.exit_code == 0, show.output
    assert "© 2026 [red]x[/]" in show.stdout and "['[bold]A[/]']" in show.stdout
    assert "nl\\nwav.wav" in show.stdout and "A[/x].jpg" in show.stdout
    js = json.loads(invoke("rights", "show", "--json", str(card)).stdout)
    assert {Path(d["path"]).name for d in js} == {p.name for p in files}
    check = invoke("rights", "check", "-t", str(tpl), str(card))
    assert check.exit_code == 0, check.output
    assert check.stdout.count("ok ") == len(files) and "new\\nline.jpg" in check.stdout


def test_check_reports_markup_values_literally(card, tmp_path, tpl, wide):
    jpg = card / "-o.jpg"
    invoke("rights", "apply", "-t", str(tpl), "--embed", str(jpg))
    other = tmp_path / "other.yaml"
    other.write_text(TEMPLATE.replace("[red]x[/]", "[/y]"), encoding="utf-8")
    r = invoke("rights", "check", "-t", str(other), str(jpg))
    assert r.exit_code == 1
    assert "FAIL" in r.stdout and "-o.jpg" in r.stdout
    assert "'© 2026 [red]x[/]'; the template says '© 2026 [/y]'" in r.stdout


def test_symlinks_get_sidecars_and_dangling_ones_are_per_file_errors(tmp_path, media, tpl, wide):
    d = tmp_path / "links"
    d.mkdir()
    real = d / "real.jpg"
    shutil.copyfile(media[".jpg"], real)
    os.symlink(real, d / "link.jpg")
    (d / "dangling[").mkdir()
    os.symlink(d / "gone.jpg", d / "dangling[/x].jpg")
    r = invoke("rights", "apply", "-t", str(tpl), "--embed", str(d))
    assert r.exit_code == 2  # one file could not be handled; the others went on
    assert (d / "link.jpg").is_symlink()  # a link stays a link
    assert exiftool_read(d / "link.xmp")["XMP-dc:Title"] == "link.jpg"
    assert exiftool_read(real)["XMP-dc:Title"] == "real.jpg"
    assert "dangling[/x].jpg" in r.stdout and "does not exist" in r.stdout
    assert "symbolic link" in r.stdout
    show = invoke("rights", "show", str(d / "dangling[/x].jpg"), str(real))
    assert show.exit_code == 2 and "dangling[/x].jpg does not exist" in show.stderr
    check = invoke("rights", "check", "-t", str(tpl), str(d / "dangling[/x].jpg"))
    assert check.exit_code == 1 and "rights.read" in check.stdout
