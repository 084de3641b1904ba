"""The one ExifTool session (`pipeline.exiftool`): hostile names through the real ExifTool.

An argument file takes one argument a line, so a name holding a newline cannot go through
the `-stay_open` session; such names are run in a process of their own. These tests check that
this fallback really reads and writes, that only those names leave the session, and that
other hostile names ('-' first, ':', brackets, NFD accents) go through the session intact.
"""

from __future__ import annotations

import shutil
import unicodedata
from pathlib import Path

import pytest
from rights_media import exiftool_read, make_jpeg

from pipeline.exiftool import ExifToolSession

NEWLINE = "new\nline.jpg"
HOSTILE = ["-o.jpg", "a:b.jpg", "[x].jpg", "A[/x].jpg", unicodedata.normalize("NFD", "été.jpg")]


@pytest.fixture(scope="module")
def jpeg(tmp_path_factory) -> Path:
    return make_jpeg(tmp_path_factory.mktemp("src") / "frame.jpg")


def test_newline_names_read_and_only_they_leave_the_session(tmp_path, jpeg, monkeypatch):
    names = ["plain.jpg", NEWLINE, "cr\rname.jpg", *HOSTILE]
    files = [tmp_path / n for n in names]
    for f in files:
        f.parent.mkdir(exist_ok=True)  # 'A[/x].jpg' is x].jpg in a folder named A[
        shutil.copyfile(jpeg, f)
    alone: list[list[str]] = []
    with ExifToolSession() as s:
        real = s._execute_alone

        def spy(lines: list[str]):
            alone.append(lines)
            return real(lines)

        monkeypatch.setattr(s, "_execute_alone", spy)
        rows = s.read_json(files, ["ImageWidth"])
    assert set(rows) == {str(f) for f in files}
    assert all(rows[str(f)]["File:ImageWidth"] == 96 for f in files)
    # One command of its own, holding the two multi-line names and nothing else.
    assert len(alone) == 1
    sent = [a for a in alone[0] if a.startswith(str(tmp_path))]
    assert sorted(sent) == sorted([str(tmp_path / NEWLINE), str(tmp_path / "cr\rname.jpg")])


@pytest.mark.parametrize("name", [NEWLINE, *HOSTILE])
def test_write_to_and_from_hostile_names(tmp_path, jpeg, name):
    src = tmp_path / name
    src.parent.mkdir(exist_ok=True)
    shutil.copyfile(jpeg, src)
    out = tmp_path / f"out-{name}"
    out.parent.mkdir(exist_ok=True)
    with ExifToolSession() as s:
        report = s.write(src, [("XMP-dc:Title", "Été [/x]\nline 2")], out=out)
        row = s.read_json([out], ["XMP-dc:Title"])[str(out)]
    assert report.ok and report.not_written == {}, report
    assert row["XMP-dc:Title"] == "Été [/x]\nline 2"
    assert exiftool_read(out)["XMP-dc:Title"] == "Été [/x]\nline 2"  # an independent reader
    assert src.read_bytes() == jpeg.read_bytes()  # the source is never written


def test_newline_name_missing_file_is_absent_not_an_exception(tmp_path):
    with ExifToolSession() as s:
        assert s.read_json([tmp_path / NEWLINE]) == {}
        report = s.write(tmp_path / NEWLINE, [("XMP-dc:Title", "x")], out=tmp_path / "o.jpg")
    assert report.ok is False and report.errors
