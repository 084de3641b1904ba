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
        atomic_write_text(tmp_path / "report.html", "<p>ok</p>", overwrite=False)
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "report.html").stat().st_mode) == 0o644


def test_failed_write_leaves_nothing_and_keeps_the_old_file(tmp_path):
    dest = tmp_path / "summary.json"
    dest.write_text("old")
    with pytest.raises(ZeroDivisionError), atomic_writer(dest, overwrite=True) as fh:
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


def test_overwrite_must_be_chosen_by_every_caller(tmp_path):
    """No default: a caller that forgets to decide gets a TypeError, not a silent overwrite."""
    with pytest.raises(TypeError):
        atomic_write_text(tmp_path / "a.txt", "x")  # type: ignore[call-arg]


def test_writes_never_touch_the_process_umask(tmp_path, monkeypatch):
    """Reading the umask means setting it, which races with other threads: never done."""
    calls = []
    monkeypatch.setattr(os, "umask", lambda *a: calls.append(a) or 0o022)
    atomic_write_text(tmp_path / "a.txt", "x", overwrite=False)
    assert calls == []


def test_parallel_writers_keep_the_usual_mode(tmp_path):
    """Eight threads writing at once under umask 027: every file gets 0640, none 0600/0666."""
    from concurrent.futures import ThreadPoolExecutor

    old = os.umask(0o027)
    try:
        with ThreadPoolExecutor(8) as pool:
            list(
                pool.map(
                    lambda i: atomic_write_text(tmp_path / f"{i}.json", "{}", overwrite=False),
                    range(64),
                )
            )
    finally:
        os.umask(old)
    modes = {stat.S_IMODE(p.stat().st_mode) for p in tmp_path.iterdir()}
    assert modes == {0o640}
