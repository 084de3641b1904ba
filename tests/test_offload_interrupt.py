"""Ctrl-C during an offload: nothing unverified under a final name, no part file left, the lock
released, the history tells the truth about what was verified; the CLI exits 130."""

from __future__ import annotations

import fcntl
import os
import subprocess
import sys
from pathlib import Path

import pytest
from rich.progress import Progress
from typer.testing import CliRunner

from pipeline.cli import app
from pipeline.offload import PART_SUFFIX, STATE_DIR, offload

BIN = Path(sys.executable).parent


def card(root: Path) -> dict[str, bytes]:
    files = {
        "A_BIG.MXF": os.urandom(3_000_000),  # settled before the interrupt
        "B_small1.XML": os.urandom(2000),  # written, in a batch not yet verified
        "B_small2.XML": os.urandom(2000),
        "C_BIG.MXF": os.urandom(6_000_000),  # interrupted mid-file
        "D_last.MXF": os.urandom(2000),
    }
    for rel, data in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_bytes(data)
    return files


def lock_is_free(roll: Path) -> bool:
    with open(roll / STATE_DIR / "offload.lock", "a") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        fcntl.flock(fh, fcntl.LOCK_UN)
        return True


def only_verified_finals(roll: Path, src: Path, expected: set[str]) -> None:
    assert not list(roll.rglob(f"*{PART_SUFFIX}"))
    finals = {
        str(p.relative_to(roll))
        for p in roll.rglob("*")
        if p.is_file() and p.relative_to(roll).parts[0] not in ("ascmhl", STATE_DIR)
    }
    assert finals == expected
    for rel in finals:
        assert (roll / rel).read_bytes() == (src / rel).read_bytes()


def test_keyboard_interrupt_from_progress_cleans_up(tmp_path):
    src = tmp_path / "A001"
    card(src)
    d1, d2 = tmp_path / "ssd1", tmp_path / "ssd2"
    d1.mkdir()
    d2.mkdir()
    seen = {"n": 0}

    def ctrl_c(n: int) -> None:
        seen["n"] += n
        if seen["n"] > 3_000_000 + 4000 + 1_000_000:  # a megabyte into C_BIG.MXF
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        offload(src, [d1, d2], chunk_size=256 * 1024, progress=ctrl_c)
    for d in (d1, d2):
        roll = d / "A001"
        only_verified_finals(roll, src, {"A_BIG.MXF"})
        assert lock_is_free(roll)
        # the history lists what was verified, and the copy verifies with the reference tool
        ok = subprocess.run([str(BIN / "ascmhl-debug"), "verify", str(roll)])
        assert ok.returncode == 0
    # running it again finishes the job
    again = offload(src, [d1, d2])
    assert again.exit_code == 0
    only_verified_finals(d1 / "A001", src, set(card_names(src)))


def card_names(src: Path) -> list[str]:
    return [p.name for p in src.iterdir()]


def test_cli_ctrl_c_exits_130(tmp_path, monkeypatch):
    src = tmp_path / "A002"
    card(src)
    d1 = tmp_path / "ssd1"
    d1.mkdir()
    calls = {"n": 0}
    real_advance = Progress.advance

    def advance(self, task, n):  # the CLI's progress callback: Ctrl-C on its third block
        calls["n"] += 1
        if calls["n"] == 3:
            raise KeyboardInterrupt
        real_advance(self, task, n)

    monkeypatch.setattr(Progress, "advance", advance)
    r = CliRunner().invoke(app, ["offload", str(src), "-d", str(d1)])
    assert r.exit_code == 130, r.output
    assert "interrupted" in r.output and "Traceback" not in r.output
    roll = d1 / "A002"
    assert not list(roll.rglob(f"*{PART_SUFFIX}"))
    assert lock_is_free(roll)
    for p in roll.iterdir():
        if p.is_file():
            assert p.read_bytes() == (src / p.name).read_bytes()


def test_ctrl_c_while_preparing_destinations_releases_the_locks(tmp_path, monkeypatch):
    from pipeline import mhl

    src = tmp_path / "A003"
    card(src)
    d1, d2 = tmp_path / "ssd1", tmp_path / "ssd2"
    d1.mkdir()
    d2.mkdir()
    real_load = mhl.load_history

    def load(root, *a, **kw):  # d1 is created and locked; Ctrl-C while d2 is prepared
        if Path(root) == d2 / "A003":
            raise KeyboardInterrupt
        return real_load(root, *a, **kw)

    monkeypatch.setattr(mhl, "load_history", load)
    with pytest.raises(KeyboardInterrupt):
        offload(src, [d1, d2])
    assert lock_is_free(d1 / "A003") and lock_is_free(d2 / "A003")
    assert not [p for p in d1.rglob("*") if p.is_file() and p.name != "offload.lock"]
