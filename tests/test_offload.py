"""Offload behaviour on real files: structure kept, every copy verified, ASC MHL on every
destination (read by the reference tool), re-runs, conflicts, templates, locks, history."""

from __future__ import annotations

import fcntl
import os
import subprocess
import sys
import unicodedata
from pathlib import Path

import pytest
from lxml import etree
from PIL import Image
from typer.testing import CliRunner

from pipeline import mhl
from pipeline.cli import app
from pipeline.errors import UserInputError
from pipeline.hashing import hash_file
from pipeline.offload import STATE_DIR, Failure, FileStatus, offload, render_template
from pipeline.report.offload import publish
from pipeline.tools import ffmpeg_exe, ffmpeg_input, run

BIN = Path(sys.executable).parent
XSD_DIR = Path(__file__).parents[1].parent / "shared" / "standards" / "ascmhl-xsd"
NFD_NAME = unicodedata.normalize("NFD", "Ren\u00e9e_pl\u00e5n.wav")
HOSTILE = ["-rf", 'it\'s "quoted".mov', "new\nline.mov", NFD_NAME]


def ref_verify(root: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(BIN / "ascmhl-debug"), "verify", str(root)], capture_output=True, text=True
    )


def make_card(root: Path, big: int = 3_000_000) -> dict[str, bytes]:
    """An XDCAM-like card with an empty folder, hostile names and macOS droppings."""
    files = {
        "XDROOT/Clip/C0001.MXF": os.urandom(big),
        "XDROOT/Clip/C0002.MXF": os.urandom(10_000),
        "XDROOT/Clip/C0001M01.XML": b"<xml/>",
        "XDROOT/MEDIAPRO.XML": b"<MediaProfile/>",
        **{f"XDROOT/{n}": os.urandom(333) for n in HOSTILE},
        "zero.bin": b"",
    }
    for rel, data in files.items():
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(data)
    (root / "XDROOT" / "Sub").mkdir()  # empty folders are part of the card structure
    (root / ".DS_Store").write_bytes(b"junk")
    (root / "XDROOT" / "._C0001.MXF").write_bytes(b"apple double")
    (root / "XDROOT" / "outside").symlink_to("/etc")
    return files


@pytest.fixture()
def card(tmp_path: Path) -> tuple[Path, dict[str, bytes]]:
    root = tmp_path / "cards" / "A001"
    files = make_card(root)
    return root, files


def dests(tmp_path: Path, n: int = 2) -> list[Path]:
    out = []
    for i in range(n):
        d = tmp_path / f"drive{i + 1}"
        d.mkdir()
        out.append(d)
    return out


def test_offload_two_destinations(tmp_path, card):
    src, files = card
    d1, d2 = dests(tmp_path)
    before = {p: p.stat().st_mtime_ns for p in src.rglob("*") if not p.is_symlink()}
    res = offload(
        src,
        [d1, d2],
        template="{project}/{date}/{camera}{roll}",
        values={"project": "Feature", "date": "2026-11-22", "camera": "A"},
        hashes=["xxh128", "md5"],
    )
    assert res.exit_code == 0, [f.error for f in res.files]
    assert res.hash_formats == ["md5", "xxh128"]
    for d in (d1, d2):
        roll = d / "Feature" / "2026-11-22" / "AA001"
        for rel, data in files.items():
            copy = roll / rel
            assert copy.read_bytes() == data, rel
            assert copy.stat().st_mtime_ns == (src / rel).stat().st_mtime_ns
        assert (roll / "XDROOT" / "Sub").is_dir()
        assert not (roll / ".DS_Store").exists() and not (roll / "XDROOT" / "._C0001.MXF").exists()
        assert not (roll / "XDROOT" / "outside").exists()
        assert not list(roll.rglob("*.rushline-part"))
        check = ref_verify(roll)
        assert check.returncode == 0, check.stdout + check.stderr
        (manifest,) = (roll / "ascmhl").glob("*.mhl")
        if XSD_DIR.is_dir():
            import xmlschema

            xmlschema.XMLSchema(str(XSD_DIR / "ASCMHL.xsd")).validate(str(manifest))
        tree = etree.parse(str(manifest))
        assert tree.findtext(".//{urn:ASC:MHL:v2.0}process") == "transfer"
    kinds = {(n.path, n.kind) for n in res.notices}
    assert (".DS_Store", "ignored") in kinds and ("XDROOT/._C0001.MXF", "ignored") in kinds
    assert ("XDROOT/outside", "symlink") in kinds
    # the source was only read
    assert before == {p: p.stat().st_mtime_ns for p in src.rglob("*") if not p.is_symlink()}
    assert not list(src.rglob("ascmhl")) and not list(src.rglob(STATE_DIR))
    one = next(f for f in res.files if f.path == "XDROOT/Clip/C0001.MXF")
    assert one.hashes["md5"] == hash_file(src / one.path, ["md5"])["md5"]
    assert {o.status for o in one.outcomes} == {FileStatus.COPIED}


def test_rerun_recognises_the_offloaded_card_by_content(tmp_path, card):
    src, files = card
    d1, d2 = dests(tmp_path)
    assert offload(src, [d1, d2]).exit_code == 0
    # exFAT shifts modification times by an hour across DST: content decides, not mtime
    for p in src.rglob("*.MXF"):
        st = p.stat()
        os.utime(p, ns=(st.st_atime_ns, st.st_mtime_ns + 3600 * 10**9))
    again = offload(src, [d1, d2])
    assert again.exit_code == 0
    for d in again.destinations:
        assert d.already_offloaded and d.files_copied == 0 and d.bytes_written == 0
        assert d.files_identical == len(files)
        hist = mhl.load_history(Path(d.roll_dir))
        assert hist is not None and len(hist.generations) == 2
        assert {h.action for fe in hist.generations[1].files for h in fe.hashes} == {"verified"}
        assert ref_verify(Path(d.roll_dir)).returncode == 0


def test_different_file_at_destination_is_never_overwritten(tmp_path, card):
    src, _ = card
    (d1,) = dests(tmp_path, 1)
    victim = d1 / "A001" / "XDROOT" / "Clip" / "C0002.MXF"
    victim.parent.mkdir(parents=True)
    victim.write_bytes(b"someone else's file")
    res = offload(src, [d1])
    assert res.exit_code == Failure.CONFLICT
    rec = next(f for f in res.files if f.path == "XDROOT/Clip/C0002.MXF")
    assert (
        rec.outcomes[0].failure == Failure.CONFLICT and "not overwritten" in rec.outcomes[0].error
    )
    assert victim.read_bytes() == b"someone else's file"
    # every other file made it and the history lists them, not the conflicting one
    hist = mhl.load_history(d1 / "A001")
    paths = {fe.path for fe in hist.generations[0].files}
    assert "XDROOT/Clip/C0001.MXF" in paths and "XDROOT/Clip/C0002.MXF" not in paths


@pytest.mark.parametrize(
    "template,values",
    [
        ("{project}/{roll}", {"project": ".."}),
        ("{project}/{roll}", {"project": "a/../../etc"}),
        ("/abs/{roll}", {}),
        ("../{roll}", {}),
        ("{missing}", {}),
    ],
)
def test_templates_that_escape_are_refused(tmp_path, card, template, values):
    src, _ = card
    (d1,) = dests(tmp_path, 1)
    with pytest.raises(UserInputError):
        offload(src, [d1], template=template, values=values)
    assert list(d1.iterdir()) == []


def test_template_rendering():
    vals = {"project": "Feature", "date": "2026-11-22", "camera": "A", "roll": "001"}
    assert render_template("{project}/{date}/{camera}{roll}", vals) == "Feature/2026-11-22/A001"


def test_lock_held_by_another_offload(tmp_path, card):
    src, _ = card
    d1, d2 = dests(tmp_path)
    state = d1 / "A001" / STATE_DIR
    state.mkdir(parents=True)
    with open(state / "offload.lock", "w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        res = offload(src, [d1, d2])
    assert res.exit_code == Failure.LOCKED
    locked = res.destinations[0]
    assert locked.failure == Failure.LOCKED and "another offload" in locked.error
    assert not (d1 / "A001" / "XDROOT").exists()
    assert res.destinations[1].ok and ref_verify(d2 / "A001").returncode == 0


def test_card_with_history_is_checked_and_extended(tmp_path, card):
    src, _ = card
    # the reference tool crashes on a folder symlink and re-indents a name with a newline
    (src / "XDROOT" / "outside").unlink()
    (src / "XDROOT" / "new\nline.mov").unlink()
    # camera-side (or earlier) history made by the reference tool
    out = subprocess.run(
        [str(BIN / "ascmhl"), "create", str(src), "-h", "md5"], capture_output=True, text=True
    )
    assert out.returncode == 0, out.stderr
    (d1,) = dests(tmp_path, 1)
    res = offload(src, [d1])
    assert res.exit_code == 0 and res.source_history_generations == 1
    assert "md5" in res.hash_formats  # hashed in the card's own format too, in the same read
    assert all(f.history == "matched" for f in res.files)
    hist = mhl.load_history(d1 / "A001")
    assert [g.process for g in hist.generations] == ["in-place", "transfer"]
    assert res.destinations[0].history_extended
    assert ref_verify(d1 / "A001").returncode == 0
    assert not list(src.glob("ascmhl/*rushline*"))  # the card's history itself is untouched
    # the history lists the AppleDouble file, so it is part of the roll and is copied
    assert (d1 / "A001" / "XDROOT" / "._C0001.MXF").read_bytes() == b"apple double"


def test_card_not_matching_its_history_is_reported(tmp_path, card):
    src, _ = card
    # the reference tool crashes on a folder symlink and re-indents a name with a newline
    (src / "XDROOT" / "outside").unlink()
    (src / "XDROOT" / "new\nline.mov").unlink()
    assert (
        subprocess.run([str(BIN / "ascmhl"), "create", str(src)], capture_output=True).returncode
        == 0
    )
    with open(src / "XDROOT" / "Clip" / "C0002.MXF", "r+b") as fh:
        fh.write(b"X")
    (d1,) = dests(tmp_path, 1)
    res = offload(src, [d1])
    assert res.exit_code == Failure.SOURCE_HISTORY
    bad = next(f for f in res.files if f.path == "XDROOT/Clip/C0002.MXF")
    assert bad.history == "mismatch" and "history" in bad.error
    # the new generation says so: the reference tool flags that file against the original hash
    check = ref_verify(d1 / "A001")
    assert check.returncode != 0 and "C0002.MXF" in check.stdout + check.stderr


@pytest.mark.parametrize("level", ["size", "source"])
def test_other_verification_levels(tmp_path, card, level):
    src, files = card
    (d1,) = dests(tmp_path, 1)
    res = offload(src, [d1], verify=level, hashes=["xxh64", "sha1", "c4", "xxh3"])
    assert res.exit_code == 0
    assert all(o.verified == level for f in res.files for o in f.outcomes)
    assert set(res.files[0].hashes) == {"c4", "sha1", "xxh3", "xxh64"}
    assert ref_verify(d1 / "A001").returncode == 0


def _clip(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    run(
        [
            ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-f", "lavfi",
            "-i", "testsrc2=size=640x360:rate=25", "-t", "2", "-timecode", "01:00:00:00",
            "-c:v", "mpeg4", "-q:v", "8", "-y", ffmpeg_input(path),
        ],
        what="making a test clip",
    )  # fmt: skip


def test_cli_offload_with_cascade_and_report(tmp_path):
    src = tmp_path / "cards" / "B002"
    _clip(src / "DCIM" / "100CANON" / "-MVI_0001.MOV")
    (src / "DCIM" / "100CANON" / "IMG_0002.JPG").write_bytes(os.urandom(2000))
    fast1, fast2, slow = (tmp_path / n for n in ("ssd1", "ssd2", "raid"))
    for d in (fast1, fast2, slow):
        d.mkdir()
    out = CliRunner().invoke(
        app,
        [
            "offload", str(src), "--dest", str(fast1), "--dest", str(fast2),
            "--cascade", str(slow), "--template", "{project}/{roll}", "--project", "P",
            "--report", str(tmp_path / "reports"), "--json", str(tmp_path / "result.json"),
        ],
    )  # fmt: skip
    assert out.exit_code == 0, out.output
    for d in (fast1, fast2, slow):
        clip = d / "P" / "B002" / "DCIM" / "100CANON" / "-MVI_0001.MOV"
        assert clip.read_bytes() == (src / "DCIM/100CANON/-MVI_0001.MOV").read_bytes()
        assert ref_verify(d / "P" / "B002").returncode == 0
    # the cascade copy extends the verified history of the fast copy
    hist = mhl.load_history(slow / "P" / "B002")
    assert [g.sequence for g in hist.generations] == [1, 2]
    import json

    results = json.loads((tmp_path / "result.json").read_text())
    assert len(results) == 2 and results[1]["cascade_from"].endswith("B002")
    (report,) = [p for p in (tmp_path / "reports").iterdir() if "B002" in p.name][:1]
    data = json.loads((report / "offload.json").read_text())
    rec = next(f for f in data["files"] if f["path"].endswith(".MOV"))
    assert rec["clip"]["width"] == 640 and rec["clip"]["timecode"].startswith("01:00:00")
    with Image.open(report / rec["thumbnail"]) as im:
        assert im.width == 320
    html = (report / "offload.html").read_text()
    assert "-MVI_0001.MOV" in html and "VERIFIED" in html and data["tools"]["ffmpeg"] in html


def test_publish_writes_report_into_each_destination(tmp_path, card):
    src, _ = card
    d1, d2 = dests(tmp_path)
    res = offload(src, [d1, d2])
    folders = publish(res, thumbnails=False)
    assert len(folders) == 2
    for d, f in zip((d1, d2), folders, strict=True):
        assert f.is_relative_to(d / "A001" / STATE_DIR)
        assert (f / "offload.json").is_file() and (f / "offload.html").is_file()
        assert "new\nline.mov" in (f / "offload.json").read_text().replace("\\n", "\n")
    # reports live in the ignored state folder: the copy still verifies with the reference tool
    assert ref_verify(d1 / "A001").returncode == 0
