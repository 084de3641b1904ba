"""`rushline qc` end to end: exit codes, JSON/HTML outputs, and the reliability cases of the
issue (each a clear message and exit 2 for that file while the batch goes on)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from qc_media import build_all
from typer.testing import CliRunner

from pipeline.cli import app

PICTURE_ONLY = """\
name: picture-only
title: Picture only (tests)
summary: picture and sound checks, no loudness
kind: web
source:
  document: tests
"""

WITH_LOUDNESS = (
    PICTURE_ONLY.replace("name: picture-only", "name: with-loudness")
    + """\
loudness:
  standard: EBU R128
  target_lufs: -23
  max_true_peak_dbtp: -1
  channels: [1, 2]
  layout: stereo
"""
)


@pytest.fixture(scope="module")
def media():
    return build_all()


@pytest.fixture()
def profiles(tmp_path) -> dict[str, Path]:
    out = {}
    for name, text in (("picture-only", PICTURE_ONLY), ("with-loudness", WITH_LOUDNESS)):
        p = tmp_path / f"{name}.yaml"
        p.write_text(text, encoding="utf-8")
        out[name] = p
    bad = tmp_path / "typo.yaml"
    bad.write_text(PICTURE_ONLY.replace("name: picture-only", "name: typo") + "loudnes: {}\n")
    out["typo"] = bad
    return out


def invoke(*args: str):
    return CliRunner().invoke(app, ["qc", *args], catch_exceptions=False)


def test_single_file_json_and_html(media, profiles, tmp_path):
    js, html = tmp_path / "out" / "prog.json", tmp_path / "out" / "prog.html"
    res = invoke(
        str(media["programme.mov"]),
        "--profile",
        str(profiles["with-loudness"]),
        "--json",
        str(js),
        "--html",
        str(html),
    )
    assert res.exit_code == 1, res.output  # the programme fails (black, flashes, clipping...)
    data = json.loads(js.read_text())
    assert data["verdict"] == "fail" and data["profile"] == "with-loudness"
    for key in (
        "integrated_lufs",
        "lra_lu",
        "true_peak_dbtp",
        "momentary_max_lufs",
        "short_term_max_lufs",
    ):
        assert key in data["measurements"]["loudness"]
    for key in ("black", "freeze", "silence"):
        assert isinstance(data["measurements"][key], list)
    f0 = data["findings"][0]
    assert set(f0) >= {"check", "severity", "message", "start_s", "end_s", "value", "limit"}
    assert data["tools"]["ffmpeg"]
    page = html.read_text()
    assert "<svg" in page and "short-term" in page and "timeline of findings" in page
    thumbs = [f["thumbnail"] for f in data["findings"] if f["thumbnail"]]
    assert thumbs and all((html.parent / t).is_file() for t in thumbs)
    assert all(t in page for t in thumbs)
    assert "fail" in res.output


def test_reliability_cases_exit_2_and_the_batch_goes_on(media, profiles, tmp_path):
    text_mxf = tmp_path / "notes.mxf"
    text_mxf.write_text("this is a text file, not a programme\n")
    dash = tmp_path / "-leading dash.mov"
    shutil.copy(media["video_only.mov"], dash)
    files = {
        "truncated.mxf": media["truncated.mxf"],
        "video_only.mov": media["video_only.mov"],  # missing audio for a loudness profile
        "vfr.mp4": media["vfr.mp4"],
        "zero_channels.wav": media["zero_channels.wav"],
        "notes.mxf": text_mxf,
        "-leading dash.mov": dash,
        "room_tone.wav": media["room_tone.wav"],
    }
    out = tmp_path / "reports"
    res = invoke(
        *map(str, files.values()), "--profile", str(profiles["with-loudness"]), "--json", str(out)
    )
    assert res.exit_code == 2
    assert "Traceback" not in res.output
    results = {n: json.loads((out / f"{n}.qc.json").read_text()) for n in files}
    expect = {
        "truncated.mxf": "truncated",
        "video_only.mov": "no audio",
        "vfr.mp4": "variable frame rate",
        "zero_channels.wav": "0 channels",
        "notes.mxf": "not a readable audio or video file",
        "-leading dash.mov": "no audio",
    }
    for name, words in expect.items():
        r = results[name]
        assert r["verdict"] == "error", name
        assert words in r["error"] and str(files[name]) in r["error"], r["error"]
    # the file after all the broken ones was still measured
    assert results["room_tone.wav"]["verdict"] == "fail"
    assert results["room_tone.wav"]["measurements"]["loudness"]["integrated_lufs"] < -40


def test_leading_dash_file_is_measured(media, profiles, tmp_path):
    dash = tmp_path / "-v.mov"
    shutil.copy(media["video_only.mov"], dash)
    res = invoke(str(dash), "--profile", str(profiles["picture-only"]), "--json", "-")
    assert res.exit_code == 0, res.output
    data = json.loads(res.stdout[res.stdout.index("{") : res.stdout.rindex("}") + 1])
    assert data["verdict"] == "pass"
    assert data["measurements"]["decode"]["frames"] == 50


def test_profile_with_unknown_key_is_exit_2_with_file_and_key(media, profiles):
    res = invoke(str(media["video_only.mov"]), "--profile", str(profiles["typo"]))
    assert res.exit_code == 2
    assert "loudnes" in res.output and "typo.yaml" in res.output
    assert "Traceback" not in res.output


def test_several_files_html_folder_has_index_and_pages(media, profiles, tmp_path):
    out = tmp_path / "html"
    res = invoke(
        str(media["illegal.mov"]),
        str(media["red_flashes.mov"]),
        "--profile",
        str(profiles["picture-only"]),
        "--html",
        str(out),
    )
    assert res.exit_code == 1  # red flashes are errors, levels warnings
    index = (out / "index.html").read_text()
    assert "illegal.mov" in index and "red_flashes.mov" in index
    assert (out / "illegal.mov.qc.html").is_file() and (out / "red_flashes.mov.qc.html").is_file()
    assert list((out / "illegal.mov_thumbs").glob("*.jpg"))
