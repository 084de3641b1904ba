"""`rushline verify`: missing, altered, new and damaged history, each with its exit code;
NFC/NFD names verify across systems."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import unicodedata
from pathlib import Path

import pytest
from conftest import unavailable
from typer.testing import CliRunner

from pipeline.cli import app
from pipeline.exitcodes import VerifyExit
from pipeline.offload import offload
from pipeline.verify import NoHistoryError, verify_path

REPO = Path(__file__).resolve().parents[1]


def roll(tmp_path: Path) -> Path:
    card = tmp_path / "card" / "B001"
    (card / "CLIPS").mkdir(parents=True)
    (card / "CLIPS" / "B001C001.mov").write_bytes(os.urandom(200_000))
    (card / "CLIPS" / "B001C002.mov").write_bytes(os.urandom(1000))
    (tmp_path / "dest").mkdir()
    res = offload(card, [tmp_path / "dest"])
    assert res.exit_code == 0
    return tmp_path / "dest" / "B001"


def cli(*args: str) -> tuple[int, str]:
    r = CliRunner().invoke(app, ["verify", *args])
    return r.exit_code, r.output


def test_clean_copy_verifies(tmp_path):
    copy = roll(tmp_path)
    res = verify_path(copy)
    assert res.exit_code == 0 and res.files_checked == 2 and not res.new
    code, out = cli(str(copy))
    assert code == 0 and "2 files verified" in out


def test_bit_flip_is_altered_21(tmp_path):
    copy = roll(tmp_path)
    clip = copy / "CLIPS" / "B001C001.mov"
    data = bytearray(clip.read_bytes())
    data[123_456] ^= 0x01
    clip.write_bytes(bytes(data))
    res = verify_path(copy)
    assert [a.path for a in res.altered] == ["CLIPS/B001C001.mov"] and res.exit_code == 21
    code, out = cli(str(copy))
    assert code == 21 and "altered" in out and "B001C001.mov" in out


def test_missing_file_20_and_new_file_22(tmp_path):
    copy = roll(tmp_path)
    (copy / "CLIPS" / "B001C002.mov").unlink()
    code, out = cli(str(copy))
    assert code == 20 and "missing" in out and "B001C002.mov" in out
    copy2 = roll(tmp_path / "again")
    (copy2 / "CLIPS" / "extra.mov").write_bytes(b"x")
    code, out = cli(str(copy2))
    assert code == 22 and "extra.mov" in out


def test_ignored_names_are_not_new(tmp_path):
    copy = roll(tmp_path)
    (copy / ".DS_Store").write_bytes(b"x")
    (copy / "CLIPS" / "._B001C001.mov").write_bytes(b"x")
    assert verify_path(copy).exit_code == 0


def test_no_history_23(tmp_path):
    (tmp_path / "plain").mkdir()
    with pytest.raises(NoHistoryError):
        verify_path(tmp_path / "plain")
    code, out = cli(str(tmp_path / "plain"))
    assert code == 23 and "no ASC MHL history" in out


def test_damaged_history_24(tmp_path):
    copy = roll(tmp_path)
    (manifest,) = (copy / "ascmhl").glob("*.mhl")
    manifest.write_text(manifest.read_text().replace("<hostname>", "<hostname>edited-"))
    code, out = cli(str(copy))
    assert code == 24 and "history damaged" in out


def test_json_output(tmp_path):
    copy = roll(tmp_path)
    (copy / "CLIPS" / "B001C002.mov").write_bytes(b"changed")
    r = CliRunner().invoke(app, ["verify", str(copy), "--json"])
    assert r.exit_code == 21
    assert '"altered"' in r.output and "B001C002.mov" in r.output


@pytest.mark.parametrize("written,on_disk", [("NFD", "NFC"), ("NFC", "NFD")])
def test_nfc_and_nfd_names_verify_both_ways(tmp_path, written, on_disk):
    name = "Cl\u00e9ment_\u00c5ngstr\u00f6m.mov"
    card = tmp_path / "card" / "C001"
    card.mkdir(parents=True)
    (card / unicodedata.normalize(written, name)).write_bytes(os.urandom(5000))
    (tmp_path / "dest").mkdir()
    assert offload(card, [tmp_path / "dest"]).exit_code == 0
    copy = tmp_path / "dest" / "C001"
    # the other system stores the name in its own normal form (macOS NFD, Linux NFC)
    os.rename(
        copy / unicodedata.normalize(written, name), copy / unicodedata.normalize(on_disk, name)
    )
    res = verify_path(copy)
    assert res.exit_code == 0 and res.files_checked == 1 and not res.new and not res.missing


def test_fifo_in_place_of_a_file_is_unreadable_25(tmp_path):
    copy = roll(tmp_path)
    clip = copy / "CLIPS" / "B001C002.mov"
    clip.unlink()
    os.mkfifo(clip)  # opening it for reading would block forever: never opened
    res = verify_path(copy)
    assert res.exit_code == VerifyExit.UNREADABLE == 25
    assert [u.path for u in res.unreadable] == ["CLIPS/B001C002.mov"]
    assert "named pipe" in res.unreadable[0].reason and not res.missing
    code, out = cli(str(copy))
    assert code == 25 and "unreadable" in out and "B001C002.mov" in out
    r = CliRunner().invoke(app, ["verify", str(copy), "--json"])
    assert r.exit_code == 25
    assert r.exception is None or isinstance(r.exception, SystemExit)
    data = json.loads(r.stdout)
    assert data["unreadable"][0]["path"] == "CLIPS/B001C002.mov" and data["exit_code"] == 25


def test_folder_in_place_of_a_file_is_unreadable_25(tmp_path):
    copy = roll(tmp_path)
    clip = copy / "CLIPS" / "B001C001.mov"
    clip.unlink()
    clip.mkdir()
    code, out = cli(str(copy))
    assert code == 25 and "B001C001.mov" in out and "a folder" in out


def test_permission_denied_is_unreadable_25(tmp_path):
    copy = roll(tmp_path)
    (copy / "CLIPS" / "B001C001.mov").chmod(0)
    cmd = [sys.executable, "-m", "pipeline.cli", "verify", str(copy), "--json"]
    if os.geteuid() == 0:
        # root reads anything: drop the capabilities that bypass file permissions
        setpriv = shutil.which("setpriv")
        if setpriv is None:
            unavailable("running as root without setpriv (util-linux) to drop capabilities")
        cmd = [setpriv, "--bounding-set", "-dac_override,-dac_read_search", *cmd]
    out = subprocess.run(cmd, capture_output=True, text=True, cwd=REPO)
    assert out.returncode == 25, out.stderr
    assert "Traceback" not in out.stderr
    data = json.loads(out.stdout)
    assert data["unreadable"] == [
        {"path": "CLIPS/B001C001.mov", "reason": "Permission denied"}
    ] and data["ok"] == ["CLIPS/B001C002.mov"]
