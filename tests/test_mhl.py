"""Our ASC MHL generations: valid against the XSD, identical hashes to the reference tool's,
readable and verifiable by `ascmhl`, and a changed manifest is caught by the chain."""

from __future__ import annotations

import datetime as dt
import os
import shutil
import subprocess
import sys
from pathlib import Path

from lxml import etree

from pipeline import mhl
from pipeline.hashing import hash_file

XSD_DIR = Path(__file__).parents[1].parent / "shared" / "standards" / "ascmhl-xsd"
BIN = Path(sys.executable).parent


def ascmhl(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(BIN / args[0]), *args[1:]], capture_output=True, text=True)


def xsd_validate(manifest: Path, chain: Path) -> None:
    from conftest import need_shared

    need_shared(XSD_DIR, "the ASC MHL XSD")
    import xmlschema

    xmlschema.XMLSchema(str(XSD_DIR / "ASCMHL.xsd")).validate(str(manifest))
    xmlschema.XMLSchema(str(XSD_DIR / "ASCMHLDirectory__combined.xsd")).validate(str(chain))


def make_card(root: Path) -> None:
    (root / "CLIPS" / "SUB").mkdir(parents=True)
    (root / "EMPTY").mkdir()
    (root / "CLIPS" / "A001C001.mov").write_bytes(os.urandom(70_000))
    (root / "CLIPS" / "SUB" / "A001C002.mov").write_bytes(os.urandom(5_000))
    (root / "-readme 'q'.txt").write_text("notes\n")


def entries_for(root: Path, formats: list[str]) -> tuple[list[mhl.FileEntry], list[str]]:
    files, dirs = [], []
    for dp, dn, fn in os.walk(root):
        dn[:] = [d for d in dn if d != "ascmhl"]
        for d in dn:
            dirs.append(os.path.relpath(os.path.join(dp, d), root))
        for f in fn:
            full = os.path.join(dp, f)
            h = hash_file(full, formats)
            files.append(
                mhl.FileEntry(
                    os.path.relpath(full, root),
                    os.path.getsize(full),
                    dt.datetime.fromtimestamp(os.path.getmtime(full), dt.UTC),
                    [mhl.HashRecord(k, v) for k, v in h.items()],
                )
            )
    return files, dirs


def test_generation_is_valid_and_matches_the_reference_tool(tmp_path):
    ours, theirs = tmp_path / "A001", tmp_path / "ref" / "A001"
    make_card(ours)
    shutil.copytree(ours, theirs)
    files, dirs = entries_for(ours, ["md5", "xxh128"])
    manifest = mhl.write_generation(ours, files, dirs=dirs, formats=["md5", "xxh128"])
    assert manifest.name.startswith("0001_A001_") and manifest.suffix == ".mhl"
    xsd_validate(manifest, ours / "ascmhl" / "ascmhl_chain.xml")

    assert ascmhl("ascmhl", "create", str(theirs), "-h", "md5", "-h", "xxh128").returncode == 0
    ns = {"m": mhl.MHL_NS}

    def roothash(folder: Path) -> list[str]:
        (m,) = sorted((folder / "ascmhl").glob("*.mhl"))
        tree = etree.parse(str(m))
        return [e.text for e in tree.iterfind(".//m:roothash/*/*", ns)]

    assert roothash(ours) == roothash(theirs)  # same content and structure hashes, bit for bit

    ok = ascmhl("ascmhl-debug", "verify", str(ours))
    assert ok.returncode == 0, ok.stderr
    dirs_ok = ascmhl("ascmhl-debug", "verify", "-dh", str(ours))
    assert dirs_ok.returncode == 0, dirs_ok.stderr


def test_history_round_trip_and_next_generation(tmp_path):
    root = tmp_path / "A002"
    make_card(root)
    files, dirs = entries_for(root, ["xxh128"])
    mhl.write_generation(root, files, dirs=dirs, formats=["xxh128"], process="in-place")
    for fe in files:
        for h in fe.hashes:
            h.action = "verified"
    second = mhl.write_generation(root, files, dirs=dirs, formats=["xxh128"])
    assert second.name.startswith("0002_")
    hist = mhl.load_history(root)
    assert hist is not None and [g.sequence for g in hist.generations] == [1, 2]
    assert hist.generations[0].process == "in-place" and hist.generations[1].process == "transfer"
    assert hist.tampered == [] and hist.missing_manifests == []
    orig = hist.original_entries()
    assert (
        orig["CLIPS/A001C001.mov"][1].value
        == hash_file(root / "CLIPS" / "A001C001.mov", ["xxh128"])["xxh128"]
    )
    xsd_validate(second, root / "ascmhl" / "ascmhl_chain.xml")
    assert ascmhl("ascmhl-debug", "verify", str(root)).returncode == 0


def test_edited_manifest_is_caught_by_the_chain(tmp_path):
    root = tmp_path / "A003"
    make_card(root)
    files, dirs = entries_for(root, ["xxh128"])
    manifest = mhl.write_generation(root, files, dirs=dirs, formats=["xxh128"])
    text = manifest.read_text()
    manifest.write_text(text.replace("<hostname>", "<hostname>x"))
    hist = mhl.load_history(root)
    assert hist is not None and hist.tampered == [manifest.name]


def test_manifest_never_overwritten(tmp_path):
    root = tmp_path / "A004"
    make_card(root)
    files, dirs = entries_for(root, ["xxh128"])
    when = dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.UTC)
    first = mhl.write_generation(root, files, formats=["xxh128"], now=when)
    second = mhl.write_generation(root, files, formats=["xxh128"], now=when)
    assert first != second and first.exists() and second.exists()
