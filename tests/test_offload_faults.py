"""Faults injected for real: a full destination (tmpfs), a destination removed mid-run, a source
truncated or unreadable mid-copy, a flaky reader, a bit flipped after the offload, SIGKILL
mid-file then a re-run. Each time: a clear message naming the file, the exit code of its class,
nothing partial under a final name, nothing lost."""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

from conftest import unavailable
from typer.testing import CliRunner

from pipeline.cli import app
from pipeline.offload import PART_SUFFIX, Failure, FileStatus, offload

BIN = Path(sys.executable).parent
REPO = Path(__file__).resolve().parents[1]


def write(root: Path, rel: str, data: bytes) -> bytes:
    p = root / rel
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_bytes(data)
    return data


def finals_are_complete(roll: Path, src: Path) -> None:
    """Every file under a final name is a full, identical copy; no part file is left."""
    assert not list(roll.rglob(f"*{PART_SUFFIX}"))
    for p in roll.rglob("*"):
        rel = p.relative_to(roll)
        if p.is_file() and rel.parts[0] not in ("ascmhl", "_rushline"):
            assert p.read_bytes() == (src / rel).read_bytes(), rel


@contextlib.contextmanager
def small_filesystem(where: Path, size: str = "2m"):
    """A real tiny file system (tmpfs) so the disk fills up for real."""
    where.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(where)], capture_output=True
    )
    if mounted.returncode != 0:
        unavailable(f"cannot mount a tmpfs here: {mounted.stderr.decode().strip()}")
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], check=False)


def test_destination_full(tmp_path):
    src = tmp_path / "A001"
    for i in range(4):
        write(src, f"CLIPS/C{i}.MXF", os.urandom(700_000))
    good = tmp_path / "raid"
    good.mkdir()
    with small_filesystem(tmp_path / "tiny") as tiny:
        res = offload(src, [tiny, good], chunk_size=256 * 1024)
        assert res.exit_code == Failure.DEST_WRITE
        full = res.destinations[0]
        assert full.failure == Failure.DEST_WRITE and "full" in full.error
        assert str(tiny) in full.error
        finals_are_complete(tiny / "A001", src)
        # what did fit is verified and recorded in an MHL that tells the truth
        copied = [f for f in res.files if f.outcomes[0].status == FileStatus.COPIED]
        assert 1 <= len(copied) < 4
        hist_files = list((tiny / "A001" / "ascmhl").glob("*.mhl"))
        assert len(hist_files) == 1
        failed = [f.outcomes[0].error for f in res.files if f.outcomes[0].failure]
        assert any("C" in (e or "") for e in failed)
    # the other destination is complete and verifiable
    assert res.destinations[1].ok and res.destinations[1].files_copied == 4
    finals_are_complete(good / "A001", src)


def test_destination_removed_mid_run(tmp_path):
    src = tmp_path / "A002"
    for i in range(5):
        write(src, f"CLIPS/C{i}.MXF", os.urandom(50_000))
    d1, d2 = tmp_path / "ssd", tmp_path / "usb"
    d1.mkdir()
    d2.mkdir()
    done = []

    def pull_the_drive(rec):
        done.append(rec.path)
        if len(done) == 2:
            shutil.rmtree(d2)

    res = offload(src, [d1, d2], on_file_done=pull_the_drive)
    assert res.exit_code == Failure.DEST_GONE
    gone = res.destinations[1]
    assert (
        gone.failure == Failure.DEST_GONE and "disappeared" in gone.error and str(d2) in gone.error
    )
    assert res.destinations[0].ok and res.destinations[0].files_copied == 5
    finals_are_complete(d1 / "A002", src)
    # the last files are reported failed on the lost drive, not silently dropped
    assert all(f.outcomes[1].failure == Failure.DEST_GONE for f in res.files[2:])


def test_source_truncated_mid_copy(tmp_path):
    src = tmp_path / "A003"
    write(src, "CLIPS/A.MXF", os.urandom(10_000))
    victim = src / "CLIPS" / "B.MXF"
    write(src, "CLIPS/B.MXF", os.urandom(2_000_000))
    write(src, "CLIPS/C.MXF", os.urandom(10_000))
    (d1,) = [tmp_path / "ssd"]
    d1.mkdir()
    seen = {"n": 0}

    def card_glitch(nbytes: int) -> None:
        seen["n"] += nbytes
        if seen["n"] > 200_000 and victim.stat().st_size == 2_000_000:
            os.truncate(victim, 300_000)  # the card lost the end of the file while we read

    res = offload(src, [d1], chunk_size=64 * 1024, progress=card_glitch)
    assert res.exit_code == Failure.SOURCE_READ
    bad = next(f for f in res.files if f.path == "CLIPS/B.MXF")
    assert bad.failure == Failure.SOURCE_READ and str(victim) in bad.error
    assert "size changed" in bad.error
    assert not (d1 / "A003" / "CLIPS" / "B.MXF").exists()
    assert (d1 / "A003" / "CLIPS" / "C.MXF").exists()  # the batch went on
    finals_are_complete(d1 / "A003", src)


def test_flaky_reader_caught_by_source_verification(tmp_path):
    src = tmp_path / "A004"
    victim = src / "CLIPS" / "B.MXF"
    write(src, "CLIPS/B.MXF", os.urandom(1_000_000))
    d1 = tmp_path / "ssd"
    d1.mkdir()
    seen = {"n": 0}

    def flip_after_first_read(nbytes: int) -> None:
        seen["n"] += nbytes
        if seen["n"] == 1_000_000:  # first read finished: the second read will differ
            with open(victim, "r+b") as fh:
                fh.seek(500_000)
                byte = fh.read(1)
                fh.seek(500_000)
                fh.write(bytes([byte[0] ^ 0x40]))

    res = offload(src, [d1], verify="source", chunk_size=128 * 1024, progress=flip_after_first_read)
    assert res.exit_code == Failure.MISMATCH
    assert "different bytes" in res.files[0].error and str(victim) in res.files[0].error
    assert not (d1 / "A004" / "CLIPS" / "B.MXF").exists()
    assert not list((d1 / "A004").rglob(f"*{PART_SUFFIX}"))


def test_unreadable_source_file(tmp_path):
    src = tmp_path / "A005"
    write(src, "CLIPS/A.MXF", os.urandom(1000))
    write(src, "CLIPS/B.MXF", os.urandom(1000))
    (src / "CLIPS" / "A.MXF").chmod(0)
    d1 = tmp_path / "ssd"
    d1.mkdir()
    cmd = [sys.executable, "-m", "pipeline.cli", "offload", str(src), "--dest", str(d1)]
    if os.geteuid() == 0:
        # root reads anything: drop the capabilities that bypass file permissions
        setpriv = shutil.which("setpriv")
        if setpriv is None:
            unavailable("running as root without setpriv (util-linux) to drop capabilities")
        cmd = [setpriv, "--bounding-set", "-dac_override,-dac_read_search", *cmd]
    out = subprocess.run(cmd, capture_output=True, text=True, cwd=REPO)
    assert out.returncode == Failure.SOURCE_READ, out.stderr
    assert "A.MXF" in out.stderr and "Permission denied" in out.stderr
    assert "Traceback" not in out.stderr
    assert (d1 / "A005" / "CLIPS" / "B.MXF").read_bytes() == (src / "CLIPS" / "B.MXF").read_bytes()
    assert not (d1 / "A005" / "CLIPS" / "A.MXF").exists()


def test_bit_flip_after_offload_is_caught_by_both_tools(tmp_path):
    src = tmp_path / "A006"
    write(src, "CLIPS/A.MXF", os.urandom(300_000))
    d1 = tmp_path / "ssd"
    d1.mkdir()
    assert offload(src, [d1]).exit_code == 0
    copy = d1 / "A006" / "CLIPS" / "A.MXF"
    with open(copy, "r+b") as fh:
        fh.seek(150_000)
        b = fh.read(1)
        fh.seek(150_000)
        fh.write(bytes([b[0] ^ 0x01]))
    r = CliRunner().invoke(app, ["verify", str(d1 / "A006")])
    assert r.exit_code == 21 and "CLIPS/A.MXF" in r.output
    ref = subprocess.run(
        [str(BIN / "ascmhl-debug"), "verify", str(d1 / "A006")], capture_output=True, text=True
    )
    assert ref.returncode == 11 and "CLIPS/A.MXF" in ref.stdout + ref.stderr


# The child runs the public offload() with its defaults; only its progress callback (part of
# the public signature, what the CLI passes) parks the run once it is inside b_big.MXF, so the
# kill lands mid-file in the default copy path, with no timing involved.
_CHILD = """
import pathlib, sys, time
from pipeline.offload import offload
src, d1, d2, marker = sys.argv[1:5]
first = pathlib.Path(src, "a_first.MXF").stat().st_size
seen = 0
def progress(n):
    global seen
    seen += n
    if seen > first:
        pathlib.Path(marker).touch()
        while True:
            time.sleep(1)
offload(src, [d1, d2], progress=progress)
"""


def test_sigkill_mid_file_then_rerun_finishes_the_job(tmp_path):
    src = tmp_path / "A007"
    write(src, "a_first.MXF", os.urandom(2_000_000))  # > 1 MiB: settled on its own
    write(src, "b_big.MXF", os.urandom(24 * 1024 * 1024))
    write(src, "c_last.MXF", os.urandom(100_000))
    d1, d2 = tmp_path / "ssd1", tmp_path / "ssd2"
    d1.mkdir()
    d2.mkdir()
    marker = tmp_path / "inside-b_big"
    cmd = [sys.executable, "-c", _CHILD, str(src), str(d1), str(d2), str(marker)]
    proc = subprocess.Popen(cmd, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    parts = [d / "A007" / f".b_big.MXF{PART_SUFFIX}" for d in (d1, d2)]
    deadline = time.monotonic() + 60  # a safety net for a hung child, not a timed assertion
    while time.monotonic() < deadline and proc.poll() is None:
        if marker.exists() and all(p.exists() and p.stat().st_size > 0 for p in parts):
            break
        time.sleep(0.02)
    assert proc.poll() is None, proc.stderr.read().decode() if proc.stderr else ""
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    for d in (d1, d2):
        assert not (d / "A007" / "b_big.MXF").exists()  # nothing partial under its final name
        assert (d / "A007" / "a_first.MXF").read_bytes() == (src / "a_first.MXF").read_bytes()
        assert (d / "A007" / f".b_big.MXF{PART_SUFFIX}").exists()  # killed mid-file for real
    again = CliRunner().invoke(
        app, ["offload", str(src), "-d", str(d1), "-d", str(d2), "--json", str(tmp_path / "r.json")]
    )
    assert again.exit_code == 0, again.output
    import json

    res = json.loads((tmp_path / "r.json").read_text())
    status = {f["path"]: {o["status"] for o in f["outcomes"]} for f in res["files"]}
    assert status == {
        "a_first.MXF": {"identical"},  # verified, not copied again
        "b_big.MXF": {"copied"},
        "c_last.MXF": {"copied"},
    }
    for d in (d1, d2):
        finals_are_complete(d / "A007", src)
        ok = subprocess.run([str(BIN / "ascmhl-debug"), "verify", str(d / "A007")])
        assert ok.returncode == 0


def test_no_test_hook_in_the_copy_engine():
    """The copy path reads no environment variable (the old test throttle is gone)."""
    code = [*(REPO / "pipeline").glob("offload.py"), *(REPO / "pipeline" / "offload").glob("*.py")]
    assert code
    for py in code:
        assert "environ" not in py.read_text(), py


def fill_up(where: Path) -> None:
    """Write into `where` until its file system is full (ENOSPC for real)."""
    with open(where / "filler", "wb") as fh:
        try:
            while True:
                fh.write(b"\0" * 65536)
                fh.flush()
        except OSError as exc:
            assert exc.errno == errno.ENOSPC


def test_enospc_while_writing_the_mhl(tmp_path):
    src = tmp_path / "A008"
    for i in range(3):
        write(src, f"CLIPS/C{i}.MXF", os.urandom(100_000))
    good = tmp_path / "raid"
    good.mkdir()
    with small_filesystem(tmp_path / "tiny") as tiny:
        done = []

        def disk_fills_after_the_last_copy(rec) -> None:
            done.append(rec.path)
            if len(done) == 3:
                fill_up(tiny)

        res = offload(src, [tiny, good], on_file_done=disk_fills_after_the_last_copy)
        full = res.destinations[0]
        assert res.exit_code == Failure.DEST_WRITE
        assert full.failure == Failure.DEST_WRITE and "full" in full.error
        assert "ASC MHL" in full.error and str(tiny) in full.error
        # nothing half-written under a final name: no manifest without its chain, no temp
        assert not list((tiny / "A008").rglob("*.mhl"))
        assert not [p for p in tiny.rglob("*") if p.name.endswith(".part")]
        finals_are_complete(tiny / "A008", src)
    assert res.destinations[1].ok and res.destinations[1].manifest


def test_enospc_while_writing_the_report(tmp_path, monkeypatch):
    import pipeline.report.offload as report

    src = tmp_path / "A009"
    write(src, "CLIPS/C0.MXF", os.urandom(100_000))
    good = tmp_path / "raid"
    good.mkdir()
    real_enrich = report.enrich_clips
    with small_filesystem(tmp_path / "tiny") as tiny:

        def fill_then_enrich(*a, **kw):  # the copy is done and verified; then the disk fills
            fill_up(tiny)
            return real_enrich(*a, **kw)

        monkeypatch.setattr(report, "enrich_clips", fill_then_enrich)
        r = CliRunner().invoke(app, ["offload", str(src), "-d", str(tiny), "-d", str(good)])
        assert r.exit_code == Failure.DEST_WRITE, r.output
        assert r.exception is None or isinstance(r.exception, SystemExit)
        assert "full" in r.output and "report" in r.output
        assert not list((tiny / "A009" / "_rushline" / "reports").rglob("offload.*"))
        assert not [p for p in tiny.rglob("*") if p.name.endswith(".part")]
    (rep,) = (good / "A009" / "_rushline" / "reports").iterdir()
    assert (rep / "offload.json").is_file() and (rep / "offload.html").is_file()


def test_drive_pulled_before_the_report(tmp_path, monkeypatch):
    import pipeline.report.offload as report

    src = tmp_path / "A010"
    write(src, "CLIPS/C0.MXF", os.urandom(100_000))
    d1, d2 = tmp_path / "ssd", tmp_path / "usb"
    d1.mkdir()
    d2.mkdir()
    real_enrich = report.enrich_clips

    def pull_then_enrich(*a, **kw):
        shutil.rmtree(d2)
        return real_enrich(*a, **kw)

    monkeypatch.setattr(report, "enrich_clips", pull_then_enrich)
    r = CliRunner().invoke(app, ["offload", str(src), "-d", str(d1), "-d", str(d2)])
    assert r.exit_code == Failure.DEST_GONE, r.output
    assert r.exception is None or isinstance(r.exception, SystemExit)
    assert "disappeared" in r.output and str(d2) in r.output
    assert not d2.exists()  # the pulled drive's path is never recreated on another disk
    assert (d1 / "A010" / "CLIPS" / "C0.MXF").read_bytes() == (src / "CLIPS/C0.MXF").read_bytes()


def test_disk_full_between_manifest_and_chain_leaves_no_half_generation(tmp_path, monkeypatch):
    from pipeline import mhl

    src = tmp_path / "A011"
    write(src, "CLIPS/C0.MXF", os.urandom(10_000))
    d1 = tmp_path / "ssd"
    d1.mkdir()

    def chain_hits_enospc(history_dir, *a, **kw):
        raise OSError(errno.ENOSPC, "No space left on device", str(history_dir / mhl.CHAIN_FILE))

    monkeypatch.setattr(mhl, "_write_chain", chain_hits_enospc)
    res = offload(src, [d1])
    assert res.exit_code == Failure.DEST_WRITE and "ASC MHL" in res.destinations[0].error
    assert not list((d1 / "A011").rglob("*.mhl"))  # no manifest the chain does not list
    assert res.destinations[0].manifest is None
