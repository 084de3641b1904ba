"""A copy is a regular file Rushline wrote, nothing else: a symlink (dangling, or pointing back
to the card), a FIFO or a folder at a destination path, or a symlinked roll folder or
sub-folder, is never read through, never overwritten: a CONFLICT (15) per file naming the
path, and the batch goes on."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from typer.testing import CliRunner

from pipeline import mhl
from pipeline.cli import app
from pipeline.offload import PART_SUFFIX, Failure, FileStatus, offload

BIN = Path(sys.executable).parent


def card(tmp_path: Path) -> Path:
    src = tmp_path / "cards" / "A001"
    (src / "CLIPS").mkdir(parents=True)
    for name in ("C1.MXF", "C2.MXF", "C3.MXF"):
        (src / "CLIPS" / name).write_bytes(os.urandom(20_000))
    (src / "BIG.MXF").write_bytes(os.urandom(2_000_000))  # the threaded (large file) path
    return src


def drives(tmp_path: Path) -> tuple[Path, Path]:
    d1, d2 = tmp_path / "ssd1", tmp_path / "ssd2"
    (d1 / "A001" / "CLIPS").mkdir(parents=True)
    d2.mkdir()
    return d1, d2


def outcome(res, path: str, i: int = 0):
    return next(f for f in res.files if f.path == path).outcomes[i]


def rest_is_copied(res, src: Path, d1: Path, d2: Path, skip: set[str]) -> None:
    for f in res.files:
        assert f.outcomes[1].status == FileStatus.COPIED, f.path  # the other drive: all of it
        if f.path not in skip:
            assert f.outcomes[0].status == FileStatus.COPIED, f.path
            assert (d1 / "A001" / f.path).read_bytes() == (src / f.path).read_bytes()
    assert not list((d1 / "A001").rglob(f"*{PART_SUFFIX}"))
    ok = subprocess.run([str(BIN / "ascmhl-debug"), "verify", str(d2 / "A001")])
    assert ok.returncode == 0


def test_dangling_symlink_at_destination_path(tmp_path):
    src = card(tmp_path)
    d1, d2 = drives(tmp_path)
    link = d1 / "A001" / "CLIPS" / "C2.MXF"
    link.symlink_to(tmp_path / "nowhere")
    big_link = d1 / "A001" / "BIG.MXF"
    big_link.symlink_to(tmp_path / "nowhere-big")
    res = offload(src, [d1, d2])  # raised FileNotFoundError from _settle before
    assert res.exit_code == Failure.CONFLICT
    for rel, p in (("CLIPS/C2.MXF", link), ("BIG.MXF", big_link)):
        out = outcome(res, rel)
        assert out.failure == Failure.CONFLICT
        assert str(p) in out.error and "symbolic link" in out.error and "remove it" in out.error
        assert p.is_symlink() and not p.exists()  # left alone
    rest_is_copied(res, src, d1, d2, {"CLIPS/C2.MXF", "BIG.MXF"})
    paths = {fe.path for g in mhl.load_history(d1 / "A001").generations for fe in g.files}
    assert "CLIPS/C2.MXF" not in paths and "CLIPS/C1.MXF" in paths


def test_symlink_back_to_the_card_file_is_not_a_verified_copy(tmp_path):
    src = card(tmp_path)
    d1, d2 = drives(tmp_path)
    link = d1 / "A001" / "CLIPS" / "C1.MXF"
    link.symlink_to(src / "CLIPS" / "C1.MXF")  # reads back identical bytes: still not a copy
    before = (src / "CLIPS" / "C1.MXF").read_bytes()
    res = offload(src, [d1, d2])
    out = outcome(res, "CLIPS/C1.MXF")
    assert out.status == FileStatus.FAILED and out.failure == Failure.CONFLICT
    assert res.exit_code == Failure.CONFLICT and str(link) in out.error
    assert link.is_symlink() and (src / "CLIPS" / "C1.MXF").read_bytes() == before
    rest_is_copied(res, src, d1, d2, {"CLIPS/C1.MXF"})


def test_fifo_and_folder_at_destination_path_are_never_opened(tmp_path):
    src = card(tmp_path)
    d1, d2 = drives(tmp_path)
    os.mkfifo(d1 / "A001" / "CLIPS" / "C3.MXF")  # opening it for reading would hang
    (d1 / "A001" / "BIG.MXF").mkdir()
    res = offload(src, [d1, d2])
    assert res.exit_code == Failure.CONFLICT
    assert "named pipe" in outcome(res, "CLIPS/C3.MXF").error
    assert "a folder" in outcome(res, "BIG.MXF").error
    rest_is_copied(res, src, d1, d2, {"CLIPS/C3.MXF", "BIG.MXF"})


def test_symlinked_roll_folder_and_sub_folder(tmp_path):
    src = card(tmp_path)
    d1, d2 = tmp_path / "ssd1", tmp_path / "ssd2"
    elsewhere = tmp_path / "elsewhere"
    for d in (d1, d2, elsewhere):
        d.mkdir()
    (d1 / "A001").symlink_to(elsewhere)
    res = offload(src, [d1, d2])
    assert res.destinations[0].failure == Failure.CONFLICT
    assert "symbolic link" in res.destinations[0].error
    assert list(elsewhere.iterdir()) == []  # nothing written through the link
    assert res.destinations[1].ok and res.exit_code == Failure.CONFLICT
    # a sub-folder of the roll that is a link: its files conflict, the rest is copied
    d3 = tmp_path / "ssd3"
    (d3 / "A001").mkdir(parents=True)
    (d3 / "A001" / "CLIPS").symlink_to(elsewhere)
    res = offload(src, [d3])
    assert res.exit_code == Failure.CONFLICT
    clips = [f for f in res.files if f.path.startswith("CLIPS/")]
    assert len(clips) == 3 and all(f.outcomes[0].failure == Failure.CONFLICT for f in clips)
    assert list(elsewhere.iterdir()) == []
    assert (d3 / "A001" / "BIG.MXF").read_bytes() == (src / "BIG.MXF").read_bytes()


def test_planted_part_link_is_not_written_through(tmp_path):
    src = card(tmp_path)
    d1, d2 = drives(tmp_path)
    card_file = src / "CLIPS" / "C1.MXF"
    before = card_file.read_bytes()
    (d1 / "A001" / "CLIPS" / f".C2.MXF{PART_SUFFIX}").symlink_to(card_file)
    res = offload(src, [d1, d2])
    assert res.exit_code == 0
    assert card_file.read_bytes() == before  # the card was never written through the link
    rest_is_copied(res, src, d1, d2, set())


def test_cli_reports_each_conflict_and_exits_15(tmp_path):
    src = card(tmp_path)
    d1, d2 = drives(tmp_path)
    (d1 / "A001" / "CLIPS" / "C2.MXF").symlink_to(tmp_path / "nowhere")
    r = CliRunner().invoke(app, ["offload", str(src), "-d", str(d1), "-d", str(d2)])
    assert r.exit_code == 15, r.output
    assert r.exception is None or isinstance(r.exception, SystemExit)
    assert "C2.MXF" in r.output and "remove it" in r.output
