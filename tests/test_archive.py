"""Cold archive: naming, BagIt bags that bagit-python validates, verify, restore, catalogue."""

from __future__ import annotations

import hashlib
import json
import os
import unicodedata
from pathlib import Path

import bagit
import pytest
import typer
from typer.testing import CliRunner

from pipeline.archive import naming
from pipeline.archive.errors import ArchiveError
from pipeline.archive.pack import archive
from pipeline.archive.records import where_archived
from pipeline.archive.restore import restore_bag
from pipeline.archive.verify import verify_bag
from pipeline.catalog.db import open_catalog
from pipeline.catalog.record import record_offload
from pipeline.catalog.search import find_clip
from pipeline.cli import archive as archive_cli
from pipeline.exitcodes import ArchiveExit
from pipeline.offload import offload

NFD = unicodedata.normalize("NFD", "Éclair été.mov")
HOSTILE = ["A001C001.mov", "[bold]x[red] A.mov", "new\nline.mov", NFD, "-rf.mov", "a:b.mov"]


def tree_digest(root: Path) -> dict[str, str]:
    """Every file under root (names, bytes, mtimes): the 'source untouched' fingerprint."""
    out = {}
    for dirpath, _dirs, files in os.walk(root):
        for f in files:
            p = Path(dirpath) / f
            st = p.stat()
            out[str(p.relative_to(root))] = (
                hashlib.sha256(p.read_bytes()).hexdigest() + f":{st.st_mtime_ns}"
            )
    return out


@pytest.fixture
def roll(tmp_path: Path) -> Path:
    """An offloaded roll (real offload: media plus its ascmhl/ history) with hostile names."""
    card = tmp_path / "card"
    (card / "CLIPS").mkdir(parents=True)
    for i, name in enumerate(HOSTILE):
        (card / "CLIPS" / name).write_bytes(os.urandom(3000 + i * 17))
    dest = tmp_path / "SHUTTLE1"
    dest.mkdir()
    result = offload(card, [dest], values={"roll": "A001"})
    assert result.exit_code == 0
    record_offload(result, catalog=tmp_path / "cat.sqlite")
    roll_dir = Path(result.destinations[0].roll_dir)
    assert (roll_dir / "ascmhl").is_dir()
    return roll_dir


# -- naming ---------------------------------------------------------------------------------


def test_naming_scheme_renders_and_numbers(tmp_path):
    assert (
        naming.make_name("NF-s01", "roll", date="2026-11-22", seq=3) == "NF-s01_20261122_roll_003"
    )
    (tmp_path / "NF_20261122_roll_001").mkdir()
    (tmp_path / "NF_20261122_roll_002-1of2").mkdir()
    assert naming.make_name("NF", "roll", date="20261122", dest=tmp_path) == (
        "NF_20261122_roll_003"
    )
    custom = naming.make_name(
        "NF", "delivery", date="20261122", seq=1, template="{kind}-{project}-{date}-{seq}"
    )
    assert custom == "delivery-NF-20261122-001"


@pytest.mark.parametrize(
    ("kwargs", "says"),
    [
        ({"project": "NF!", "kind": "roll"}, "project 'NF!'"),
        ({"project": "-rf", "kind": "roll"}, "project '-rf'"),
        ({"project": "Été", "kind": "roll"}, "ASCII"),
        ({"project": "NF", "kind": "tape"}, "kind 'tape'"),
        ({"project": "NF", "kind": "roll", "date": "2026-02-30"}, "calendar date"),
        ({"project": "NF", "kind": "roll", "seq": 1000}, "out of range"),
        ({"project": "NF", "kind": "roll", "template": "{project}_{date}_{kind}"}, "exactly once"),
        ({"project": "NF", "kind": "roll", "template": "{project} {date}{kind}{seq}"}, "outside"),
        (
            {"project": "NF", "kind": "roll", "template": "{user}{project}{date}{kind}{seq}"},
            "{user}",
        ),
    ],
)
def test_naming_refuses_with_a_clear_message(kwargs, says):
    with pytest.raises(ArchiveError) as info:
        naming.make_name(date=kwargs.pop("date", "20261122"), **kwargs)
    assert says in str(info.value)
    assert info.value.exit_code == ArchiveExit.BAD_NAME


@pytest.mark.parametrize("bad", ["", "-x", ".hidden", "a/b", "a b", "a\nb", "x" * 101, "é"])
def test_final_names_are_strict(bad):
    with pytest.raises(ArchiveError, match="not allowed"):
        naming.check_name(bad)


# -- pack, verify, restore -----------------------------------------------------------------


def test_bag_is_valid_keeps_mhl_exports_catalogue_and_never_touches_the_source(tmp_path, roll):
    before = tree_digest(roll)
    out = tmp_path / "archive"
    out.mkdir()
    cat = tmp_path / "cat.sqlite"
    res = archive([roll], [str(out)], "NF_20261122_roll_001", catalog=cat)
    bag_dir = Path(res.bags[0].path)
    assert tree_digest(roll) == before  # the source is untouched
    bagit.Bag(str(bag_dir)).validate()  # bagit-python agrees the bag is complete and valid
    payload = {p.relative_to(bag_dir / "data" / roll.name) for p in (bag_dir / "data").rglob("*")}
    assert any(p.parts[0] == "ascmhl" for p in payload)  # the MHL history is inside data/
    assert Path("CLIPS") / "new\nline.mov" in payload
    assert Path("CLIPS") / NFD in payload  # names kept byte for byte (NFD stays NFD)
    doc = json.loads((bag_dir / "rushline-catalog.json").read_text())
    known = {e["payload"]: e["clip"] for e in doc["files"]}
    clip = known[f"data/{roll.name}/CLIPS/[bold]x[red] A.mov"]
    assert clip["roll"] == "A001" and "xxh128" in clip["hashes"]
    assert "rushline-catalog.csv" in (bag_dir / "tagmanifest-sha256.txt").read_text()
    assert not [p for p in out.iterdir() if p.name.startswith(".")]  # no temp left
    # the catalogue knows where each file now lives
    located = where_archived(str(roll / "CLIPS" / "-rf.mov"), catalog=cat)
    assert located and located[0]["bag"] == "NF_20261122_roll_001"
    hit = find_clip(open_catalog(cat), "A001C001")[0]
    assert any(c.status == "archived" and c.path.startswith(str(bag_dir)) for c in hit.copies)
    assert verify_bag(bag_dir).ok


def test_sha512_manifest_when_asked(tmp_path, roll):
    res = archive(
        [roll],
        [str(tmp_path)],
        "NF_20261122_roll_002",
        algorithms=["sha256", "sha512"],
        catalog=tmp_path / "c.db",
    )
    bag = bagit.Bag(res.bags[0].path)
    assert set(bag.algorithms) == {"sha256", "sha512"}
    bag.validate()


@pytest.mark.parametrize("damage", ["flip", "remove", "add", "tag"])
def test_verify_catches_damage_and_agrees_with_bagit(tmp_path, roll, damage):
    (tmp_path / "out").mkdir()
    res = archive(
        [roll], [str(tmp_path / "out")], "NF_20261122_roll_001", catalog=tmp_path / "c.db"
    )
    bag_dir = Path(res.bags[0].path)
    victim = bag_dir / "data" / roll.name / "CLIPS" / "new\nline.mov"
    if damage == "flip":
        data = bytearray(victim.read_bytes())
        data[1234] ^= 0x01
        victim.write_bytes(bytes(data))
    elif damage == "remove":
        victim.unlink()
    elif damage == "add":
        (victim.parent / "stray [x].mov").write_bytes(b"extra")
    else:
        (bag_dir / "bag-info.txt").write_text("Payload-Oxum: 1.1\n")
    report = verify_bag(bag_dir)
    assert not report.ok
    with pytest.raises(bagit.BagValidationError):
        bagit.Bag(str(bag_dir)).validate()
    expected = {
        "flip": ArchiveExit.ALTERED,
        "remove": ArchiveExit.MISSING,
        "add": ArchiveExit.EXTRA,
        "tag": ArchiveExit.ALTERED,
    }[damage]
    assert report.exit_code == expected
    if damage == "flip":
        assert report.altered[0].startswith(f"data/{roll.name}/CLIPS/new\nline.mov: sha256")


def test_restore_copies_back_verified_and_refuses_to_overwrite(tmp_path, roll):
    res = archive([roll], [str(tmp_path)], "NF_20261122_roll_001", catalog=tmp_path / "c.db")
    back = tmp_path / "restored"
    out = restore_bag(res.bags[0].path, back)
    assert len(out.restored) == res.bags[0].files
    assert tree_digest(back / roll.name).keys() == tree_digest(roll).keys()
    for name in HOSTILE:
        assert (back / roll.name / "CLIPS" / name).read_bytes() == (
            roll / "CLIPS" / name
        ).read_bytes()
    again = restore_bag(res.bags[0].path, back)  # identical files are skipped, not rewritten
    assert not again.restored and len(again.identical) == res.bags[0].files
    (back / roll.name / "CLIPS" / "-rf.mov").write_bytes(b"changed")
    with pytest.raises(ArchiveError) as info:
        restore_bag(res.bags[0].path, back)
    assert info.value.exit_code == ArchiveExit.CONFLICT
    assert (back / roll.name / "CLIPS" / "-rf.mov").read_bytes() == b"changed"


def test_restore_refuses_a_damaged_bag_before_naming_the_copy(tmp_path, roll):
    res = archive([roll], [str(tmp_path)], "NF_20261122_roll_001", catalog=tmp_path / "c.db")
    victim = Path(res.bags[0].path) / "data" / roll.name / "CLIPS" / "A001C001.mov"
    data = bytearray(victim.read_bytes())
    data[0] ^= 0xFF
    victim.write_bytes(bytes(data))
    back = tmp_path / "restored"
    with pytest.raises(ArchiveError) as info:
        restore_bag(res.bags[0].path, back)
    assert info.value.exit_code == ArchiveExit.MISMATCH
    assert not (back / roll.name / "CLIPS" / "A001C001.mov").exists()
    assert not [p for p in back.rglob(".*.part")]


def test_existing_bag_and_dest_inside_source_are_refused(tmp_path, roll):
    archive([roll], [str(tmp_path)], "NF_20261122_roll_001", catalog=tmp_path / "c.db")
    with pytest.raises(ArchiveError) as info:
        archive([roll], [str(tmp_path)], "NF_20261122_roll_001", catalog=tmp_path / "c.db")
    assert info.value.exit_code == ArchiveExit.CONFLICT
    with pytest.raises(ArchiveError, match="inside the source"):
        archive([roll], [str(roll / "CLIPS")], "NF_20261122_roll_009", catalog=tmp_path / "c.db")


def test_a_broken_catalogue_never_stops_the_archive(tmp_path, roll):
    bad = tmp_path / "broken.sqlite"
    bad.write_bytes(b"this is not a database" * 100)
    res = archive([roll], [str(tmp_path)], "NF_20261122_roll_001", catalog=bad)
    assert res.catalog_note and "catalogue" in res.catalog_note
    bagit.Bag(res.bags[0].path).validate()


# -- CLI ------------------------------------------------------------------------------------


def cli() -> typer.Typer:
    app = typer.Typer()

    @app.callback()
    def _root() -> None: ...

    archive_cli.register(app)
    return app


def test_cli_pack_verify_restore_and_exit_codes(tmp_path, roll):
    runner = CliRunner()
    out = tmp_path / "LTO001"
    out.mkdir()
    cat = str(tmp_path / "cat.sqlite")
    args = ["archive", str(roll), "--to", str(out), "--project", "NF", "--date", "20261122"]
    r = runner.invoke(cli(), [*args, "--catalog", cat])
    assert r.exit_code == 0, r.output
    bag_dir = out / "NF_20261122_roll_001"
    assert "bagged" in r.output and bag_dir.is_dir()
    r = runner.invoke(cli(), ["archive", "verify", str(bag_dir)])
    assert r.exit_code == 0 and "valid" in r.output
    victim = bag_dir / "data" / roll.name / "CLIPS" / "[bold]x[red] A.mov"
    victim.write_bytes(victim.read_bytes()[:-1] + b"!")
    r = runner.invoke(cli(), ["archive", "verify", str(bag_dir)])
    assert r.exit_code == ArchiveExit.ALTERED
    assert "[bold]x[red] A.mov" in r.output  # escaped, shown as text, not Rich markup
    r = runner.invoke(cli(), [*args, "--kind", "tape", "--catalog", cat])
    assert r.exit_code == ArchiveExit.BAD_NAME and "kind 'tape'" in r.output
    r = runner.invoke(
        cli(), ["archive", "restore", str(tmp_path / "nope"), "--to", str(tmp_path / "r")]
    )
    assert r.exit_code == ArchiveExit.BAG_INVALID and "not a BagIt bag" in r.output


def test_a_copy_that_reads_back_wrong_stops_the_bag_and_leaves_no_temporary(
    tmp_path, roll, monkeypatch
):
    """The read-back runs in its own thread, overlapping the next copy: a mismatch found there
    still fails the archive, and neither that copy nor the one in flight is left behind."""
    from pipeline.archive import copy as copy_mod

    real = copy_mod.hash_file

    def corrupt(path, formats, **kw):
        got = real(path, formats, **kw)
        return {k: "0" * len(v) for k, v in got.items()} if "A001C001" in str(path) else got

    monkeypatch.setattr(copy_mod, "hash_file", corrupt)
    out = tmp_path / "out"
    out.mkdir()
    with pytest.raises(ArchiveError) as info:
        archive([roll], [str(out)], "NF_20261122_roll_001", catalog=tmp_path / "c.db")
    assert info.value.exit_code == ArchiveExit.MISMATCH
    assert "A001C001.mov" in str(info.value) and "reads back" in str(info.value)
    assert list(out.iterdir()) == []  # no bag, no staging folder, no .part file
