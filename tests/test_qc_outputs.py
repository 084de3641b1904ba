"""`rushline qc` outputs and inputs: every output checked before any decoding, existing reports
refused unless --force, folders as inputs (media only, stable order), and one routing for the
CLI and the flow (pipeline.qc.outputs)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from qc_media import build_all
from typer.testing import CliRunner

from pipeline.cli import app
from pipeline.qc.inputs import media_files
from pipeline.qc.outputs import STDOUT, check_outputs, plan_outputs

ROOT = Path(__file__).resolve().parent.parent
PROFILE = "name: p\ntitle: P\nsummary: tests\nkind: web\nsource:\n  document: tests\n"


@pytest.fixture(scope="module")
def media():
    return build_all()


@pytest.fixture()
def profile(tmp_path) -> str:
    p = tmp_path / "p.yaml"
    p.write_text(PROFILE, encoding="utf-8")
    return str(p)


@pytest.fixture()
def no_decoding(monkeypatch):
    """Any decode fails the test: the refusals below must come before the work."""

    def boom(*a, **k):
        raise AssertionError("decoding started before the outputs were checked")

    monkeypatch.setattr("pipeline.qc.run.decode_pass", boom)


def qc(*args: str):
    return CliRunner().invoke(app, ["qc", *args])


def _clean(res) -> None:
    assert res.exception is None or isinstance(res.exception, SystemExit), res.exception
    assert "Traceback" not in res.output


# --- 3. outputs checked before the work ---------------------------------------------------------


def test_single_input_json_into_existing_folder_writes_name_qc_json(media, profile, tmp_path):
    folder = tmp_path / "reports"
    folder.mkdir()
    res = qc(str(media["video_only.mov"]), "-p", profile, "--json", str(folder))
    _clean(res)
    assert res.exit_code == 0, res.output
    data = json.loads((folder / "video_only.mov.qc.json").read_text())
    assert data["verdict"] == "pass" and data["file"] == str(media["video_only.mov"])


def test_existing_json_file_is_refused_before_decoding(media, profile, tmp_path, no_decoding):
    out = tmp_path / "r.json"
    out.write_text("keep me")
    res = qc(str(media["video_only.mov"]), "-p", profile, "--json", str(out))
    _clean(res)
    assert res.exit_code == 2
    assert "exists already" in res.output and "--force" in res.output
    assert out.read_text() == "keep me"


def test_existing_html_in_a_folder_is_refused_before_decoding(
    media, profile, tmp_path, no_decoding
):
    folder = tmp_path / "html"
    folder.mkdir()
    (folder / "index.html").write_text("mine")
    res = qc(str(media["video_only.mov"]), str(media["illegal.mov"]), "-p", profile,
             "--html", str(folder))  # fmt: skip
    _clean(res)
    assert res.exit_code == 2 and "index.html" in res.output
    assert (folder / "index.html").read_text() == "mine"


def test_force_replaces_an_existing_report(media, profile, tmp_path):
    out = tmp_path / "r.json"
    out.write_text("old")
    res = qc(str(media["video_only.mov"]), "-p", profile, "--json", str(out), "--force")
    _clean(res)
    assert res.exit_code == 0, res.output
    assert json.loads(out.read_text())["verdict"] == "pass"


def test_an_input_file_is_never_a_report_even_with_force(media, profile, tmp_path, no_decoding):
    clip = tmp_path / "clip.mov"
    shutil.copy(media["video_only.mov"], clip)
    before = clip.read_bytes()
    res = qc(str(clip), "-p", profile, "--json", str(clip), "--force")
    _clean(res)
    assert res.exit_code == 2 and "input" in res.output
    assert clip.read_bytes() == before


def test_output_folder_that_cannot_be_created_is_refused_before_decoding(
    media, profile, tmp_path, no_decoding
):
    blocker = tmp_path / "a_file"
    blocker.write_text("x")
    res = qc(str(media["video_only.mov"]), "-p", profile, "--html", str(blocker / "sub" / "r.html"))
    _clean(res)
    assert res.exit_code == 2 and "cannot create" in res.output
    res = qc(str(media["video_only.mov"]), str(media["illegal.mov"]), "-p", profile,
             "--json", str(blocker / "reports"))  # fmt: skip
    _clean(res)
    assert res.exit_code == 2 and "cannot create" in res.output


# --- 4. folders as inputs ----------------------------------------------------------------------


def _card(media, root: Path) -> Path:
    card = root / "CARD"
    (card / "B").mkdir(parents=True)
    (card / "A").mkdir()
    shutil.copy(media["video_only.mov"], card / "B" / "C002.MOV")
    shutil.copy(media["video_only.mov"], card / "A" / "C001.mov")
    shutil.copy(media["room_tone.wav"], card / "A" / "SOUND")  # no extension: MediaInfo says audio
    (card / "A" / "C001.xml").write_text("<clip/>")
    (card / "A" / "._C001.mov").write_bytes(b"\0\5\26\7" + b"\0" * 60)
    (card / ".DS_Store").write_bytes(b"\0" * 30)
    (card / "A" / "notes").write_text("not media")
    (card / "A" / "C001.XMP").write_text("<x/>")
    return card


def test_folders_give_their_media_recursively_in_a_stable_order(media, tmp_path):
    card = _card(media, tmp_path)
    found = media_files([card])
    rel = [str(p.relative_to(card)) for p in found]
    assert rel == ["A/C001.mov", "A/SOUND", "B/C002.MOV"]
    assert media_files([card]) == found


def test_rushline_qc_on_a_folder(media, profile, tmp_path):
    card = _card(media, tmp_path)
    out = tmp_path / "reports"
    res = qc(str(card), "-p", profile, "--json", str(out))
    _clean(res)
    assert res.exit_code == 0, res.output
    assert sorted(p.name for p in out.iterdir()) == [
        "C001.mov.qc.json",
        "C002.MOV.qc.json",
        "SOUND.qc.json",
    ]


def test_a_folder_without_media_is_a_clear_error(profile, tmp_path, no_decoding):
    empty = tmp_path / "sidecars"
    empty.mkdir()
    (empty / "clip.xml").write_text("<x/>")
    (empty / "._clip.mov").write_bytes(b"\0" * 64)
    res = qc(str(empty), "-p", profile)
    _clean(res)
    assert res.exit_code == 2
    assert "no audio or video files" in res.output and "sidecars" in res.output


# --- 5. one routing for the CLI and the flow ---------------------------------------------------


def test_routing_one_input(tmp_path):
    clip = Path("/m/clip.mov")
    plan = plan_outputs([clip], json_out=tmp_path / "r.json", html_out=tmp_path / "r.html")
    (t,) = plan.targets
    assert t.json == tmp_path / "r.json" and t.html == tmp_path / "r.html"
    assert t.thumbnails == tmp_path / "r_thumbs" and plan.index_html is None
    plan = plan_outputs([clip], json_out=STDOUT, html_out=None)
    assert plan.json_stdout and plan.targets[0].json is None and plan.files() == []


def test_routing_several_inputs_and_same_names(tmp_path):
    files = [Path("/a/clip.mov"), Path("/b/clip.mov"), Path("/c/CLIP.MOV")]
    plan = plan_outputs(files, json_out=tmp_path / "j", html_out=tmp_path / "h")
    assert [t.json.name for t in plan.targets] == [  # type: ignore[union-attr]
        "clip.mov.qc.json",
        "clip.mov.2.qc.json",
        "CLIP.MOV.3.qc.json",
    ]
    assert plan.targets[1].thumbnails == tmp_path / "h" / "clip.mov.2_thumbs"
    assert plan.index_html == tmp_path / "h" / "index.html"
    check_outputs(plan, force=False)  # nothing exists yet, every folder can be created


def test_nfd_twins_get_distinct_reports(tmp_path):
    nfc_name, nfd_name = "\u00e9t\u00e9.wav", "e\u0301te\u0301.wav"
    plan = plan_outputs([Path("/a") / nfc_name, Path("/b") / nfd_name], json_out=tmp_path,
                        html_out=None)  # fmt: skip
    assert plan.targets[1].json.name.endswith(".2.qc.json")  # type: ignore[union-attr]


def test_cli_and_flow_route_through_the_core():
    for rel in ("pipeline/cli/qc.py", "flows/qc.py"):
        text = (ROOT / rel).read_text(encoding="utf-8")
        assert "plan_outputs" in text and "check_outputs" in text, rel
        # the help text may name the files; building their paths is the core's job
        for routing in ('_thumbs"', '.qc.json"', '.qc.html"', '"index.html"', "unique_report_"):
            assert routing not in text, (rel, routing)
