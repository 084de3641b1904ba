"""`rushline rights` on bad input: one clear line and exit 2 for a bad argument (printed by
the CLI's one error boundary), and a batch that goes on past a file it cannot handle."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from rights_media import exiftool_read, make_jpeg, sha256
from typer.testing import CliRunner

from pipeline.cli import app


@pytest.fixture(scope="module")
def jpeg(tmp_path_factory) -> Path:
    return make_jpeg(tmp_path_factory.mktemp("src") / "frame.jpg")


@pytest.fixture
def tpl(tmp_path) -> Path:
    p = tmp_path / "ok.yaml"
    p.write_text("creator: A\ncredit_line: Studio\n", encoding="utf-8")
    return p


def one_line_error(args: list[str], *words: str) -> None:
    r = CliRunner().invoke(app, args)
    assert r.exit_code == 2, r.output
    assert r.exception is None or isinstance(r.exception, SystemExit)
    lines = [ln for ln in r.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("error:"), r.stderr
    for w in words:
        assert w in lines[0], (w, lines[0])
    assert r.stdout == ""  # refused before any work: no table, no file touched


@pytest.mark.parametrize("command", ["apply", "check"])
def test_missing_template_is_one_line_exit_2(tmp_path, jpeg, command):
    one_line_error(
        ["rights", command, "-t", str(tmp_path / "nope.yaml"), str(jpeg)],
        "nope.yaml does not exist",
        "example",  # names the templates that do exist
    )


def test_template_with_a_typo_is_one_line_exit_2(tmp_path, jpeg):
    bad = tmp_path / "bad[/x].yaml"  # markup in the name too
    bad.parent.mkdir()  # the folder "bad["
    bad.write_text("creator: A\ncopyrite: B\n", encoding="utf-8")
    before = sha256(jpeg)
    one_line_error(
        ["rights", "apply", "--embed", "-t", str(bad), str(jpeg)],
        "bad[/x].yaml line 2, field copyrite: unknown field",
    )
    assert sha256(jpeg) == before


@pytest.mark.parametrize("command", ["apply", "show", "check"])
def test_folder_that_does_not_exist_is_one_line_exit_2(tmp_path, tpl, command):
    args = ["rights", command, str(tmp_path / "NO_CARD[/x]")]
    if command != "show":
        args[2:2] = ["-t", str(tpl)]
    one_line_error(args, "no such file or folder", "NO_CARD[/x]")


def test_bad_options_are_one_line_exit_2(tmp_path, tpl, jpeg):
    one_line_error(
        ["rights", "apply", "-t", str(tpl), "--sidecar-style", "weird", str(jpeg)], "weird"
    )
    one_line_error(
        ["rights", "apply", "-t", str(tpl), "--var", "no-equals", str(jpeg)], "NAME=VALUE"
    )


def test_batch_goes_on_past_corrupt_and_unreadable_files(tmp_path, tpl, jpeg):
    corrupt = tmp_path / "corrupt.jpg"
    corrupt.write_bytes(jpeg.read_bytes()[:40] + b"\x00garbage")
    empty = tmp_path / "empty.tif"
    empty.write_bytes(b"")
    wav = tmp_path / "noise.wav"
    wav.write_bytes(b"RIFF\x10\x00\x00\x00WAVEjunk")
    good = tmp_path / "zz-good.jpg"
    shutil.copyfile(jpeg, good)
    hashes = {p: sha256(p) for p in (corrupt, empty, wav)}
    r = CliRunner().invoke(app, ["rights", "apply", "--embed", "-t", str(tpl), str(tmp_path)])
    assert r.exception is None or isinstance(r.exception, SystemExit)
    assert "Traceback" not in r.output
    assert r.exit_code == 2, r.output  # some files could not be handled
    assert "1 embedded" in r.stdout and "3 error" in r.stdout
    assert exiftool_read(good)["XMP-photoshop:Credit"] == "Studio"  # the batch went on
    assert {p: sha256(p) for p in hashes} == hashes  # the bad ones are left exactly as they were
    assert not [p.name for p in tmp_path.iterdir() if p.name.startswith(".")]
