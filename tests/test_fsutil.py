"""Atomic writes: temp + fsync + rename, no silent overwrite, usual permissions."""

from __future__ import annotations

import os
import stat

import pytest

from pipeline.errors import RushlineError
from pipeline.fsutil import atomic_write_text, atomic_writer


def test_written_file_has_umask_mode_not_private(tmp_path):
    old = os.umask(0o022)
    try:
        atomic_write_text(tmp_path / "report.html", "<p>ok</p>")
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "report.html").stat().st_mode) == 0o644


def test_failed_write_leaves_nothing_and_keeps_the_old_file(tmp_path):
    dest = tmp_path / "summary.json"
    dest.write_text("old")
    with pytest.raises(ZeroDivisionError), atomic_writer(dest) as fh:
        fh.write(b"half")
        1 / 0  # noqa: B018
    assert dest.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["summary.json"]


def test_no_silent_overwrite(tmp_path):
    dest = tmp_path / "a.txt"
    dest.write_text("mine")
    with pytest.raises(RushlineError, match="not overwriting"):
        atomic_write_text(dest, "theirs", overwrite=False)
    assert dest.read_text() == "mine"
