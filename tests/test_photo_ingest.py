"""Photo ingest: verified offload, then a renamed set that never collides and loses nothing."""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import pytest
from conftest import need_tool
from PIL import Image

from pipeline.errors import UserInputError
from pipeline.hashing import hash_file
from pipeline.photo.ingest import RENAMED_SUFFIX, check_template, ingest, split_name
from pipeline.verify import verify_path


@pytest.fixture(autouse=True)
def _exiftool() -> None:
    need_tool("exiftool", "libimage-exiftool-perl")


def _jpeg(path: Path, when: str, sub: str, model: str, serial: str, shade: int) -> None:
    exif = Image.Exif()
    exif[0x010F] = "Canon"
    exif[0x0110] = model
    ifd = exif.get_ifd(0x8769)
    ifd[0x9003] = when
    ifd[0x9291] = sub
    ifd[0xA431] = serial
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", (64, 48), (shade, 90, 140)).save(path, exif=exif)


def _shot(folder: Path, stem: str, when: str, sub: str, model: str, serial: str) -> None:
    """A RAW+JPEG pair as a camera writes it (the RAW's bytes stand in for a CR3)."""
    _jpeg(folder / f"{stem}.JPG", when, sub, model, serial, hash(stem + when) % 200)
    (folder / f"{stem}.CR3").write_bytes(f"raw {stem} {when} {serial}".encode() * 50)


@pytest.fixture()
def card(tmp_path: Path) -> Path:
    """Two bodies with the same file numbers; body A's counter wraps 9999 -> 0001."""
    root = tmp_path / "CARD_A001"
    a100, a101 = root / "DCIM" / "100CANON", root / "DCIM" / "101CANON"
    b100 = root / "DCIM" / "100EOSR6"
    _shot(a100, "IMG_9998", "2026:05:02 10:00:00", "10", "Canon EOS R5", "111")
    _shot(a100, "IMG_9999", "2026:05:02 10:00:00", "50", "Canon EOS R5", "111")
    _shot(a101, "IMG_0001", "2026:05:02 10:05:00", "00", "Canon EOS R5", "111")
    (a101 / "IMG_0001.xmp").write_text('<x:xmpmeta xmlns:x="adobe:ns:meta/"/>')
    _shot(b100, "IMG_0001", "2026:05:02 10:02:00", "00", "Canon EOS R6", "222")
    # Same second and sub-second on both bodies: the serial decides, deterministically.
    _shot(b100, "IMG_0002", "2026:05:02 10:05:00", "00", "Canon EOS R6", "222")
    _jpeg(b100 / "odd\nname [x].JPG", "2026:05:02 10:06:00", "00", "Canon EOS R6", "222", 7)
    (root / "MISC").mkdir()
    (root / "MISC" / "version.txt").write_text("fw 1.0")
    return root


def _hashes(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hash_file(p, ["xxh128"])["xxh128"]
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def test_two_bodies_and_a_counter_wrap_never_collide(card: Path, tmp_path: Path) -> None:
    before = _hashes(card)
    dests = [tmp_path / "RAID", tmp_path / "SHUTTLE"]
    for d in dests:
        d.mkdir()
    res = ingest(card, dests, rename="{date}_{client}_{seq:04}", values={"client": "ACME"})
    assert res.exit_code == 0, res.destinations
    assert _hashes(card) == before  # the card is never written

    by_orig = {e.original: e for e in res.map.entries}
    names = [e.new for e in res.map.entries]
    assert len(names) == len(set(names)) == 12  # 5 pairs + sidecar + odd JPEG; MISC not renamed
    new = {k: v.new for k, v in by_orig.items()}
    # pairs and the sidecar share one new base name
    assert new["DCIM/101CANON/IMG_0001.CR3"].removesuffix(".CR3") == new[
        "DCIM/101CANON/IMG_0001.JPG"
    ].removesuffix(".JPG")
    assert new["DCIM/101CANON/IMG_0001.xmp"] == new["DCIM/101CANON/IMG_0001.JPG"][:-4] + ".xmp"
    # capture order, not file number: 9998, 9999 (A), 0001 (B), then at 10:05 A (111) before B
    shot = {k: v.shot for k, v in by_orig.items() if k.endswith(".JPG")}
    assert [
        shot["DCIM/100CANON/IMG_9998.JPG"],
        shot["DCIM/100CANON/IMG_9999.JPG"],
        shot["DCIM/100EOSR6/IMG_0001.JPG"],
        shot["DCIM/101CANON/IMG_0001.JPG"],
        shot["DCIM/100EOSR6/IMG_0002.JPG"],
        shot["DCIM/100EOSR6/odd\nname [x].JPG"],
    ] == [1, 2, 3, 4, 5, 6]
    assert new["DCIM/100CANON/IMG_9998.CR3"] == "2026-05-02_ACME_0001.CR3"
    assert "\n" not in new["DCIM/100EOSR6/odd\nname [x].JPG"]

    for d in dests:
        roll, renamed = d / "CARD_A001", d / f"CARD_A001{RENAMED_SUFFIX}"
        for e in res.map.entries:
            assert hash_file(renamed / e.new, ["xxh128"])["xxh128"] == e.hashes["xxh128"]
        raw = by_orig["DCIM/100CANON/IMG_9998.CR3"]
        assert (renamed / raw.new).stat().st_ino == (roll / raw.original).stat().st_ino
        jpg = by_orig["DCIM/100CANON/IMG_9998.JPG"]  # a JPEG is copied: edits never reach it
        assert (renamed / jpg.new).stat().st_ino != (roll / jpg.original).stat().st_ino
        assert verify_path(roll).exit_code == 0  # the card mirror's history stays true
        assert verify_path(renamed).exit_code == 0  # and the renamed set has its own
        rows = list(csv.DictReader((renamed / "_rushline" / "rename-map.csv").open()))
        assert {r["original"]: r["new"] for r in rows} == new
        saved = json.loads((renamed / "_rushline" / "rename-map.json").read_text())
        assert len(saved["entries"]) == 12


def test_rerun_finishes_an_interrupted_rename(card: Path, tmp_path: Path) -> None:
    dest = tmp_path / "RAID"
    dest.mkdir()
    first = ingest(card, [dest], rename="{camera}_{original}_{seq:03}")
    renamed = dest / f"CARD_A001{RENAMED_SUFFIX}"
    lost = [e.new for e in first.map.entries[:3]]
    for name in lost:  # interrupted: three files not placed, no manifest written yet
        (renamed / name).unlink()
    shutil.rmtree(renamed / "ascmhl")
    # a later shot on the same card is numbered after the earlier ones
    _shot(card / "DCIM" / "101CANON", "IMG_0002", "2026:05:02 09:00:00", "00", "Canon EOS R5", "1")
    again = ingest(card, [dest], rename="{camera}_{original}_{seq:03}")
    assert again.exit_code == 0
    old = {e.original: e.new for e in first.map.entries}
    assert {e.original: e.new for e in again.map.entries if e.original in old} == old
    added = [e for e in again.map.entries if e.original not in old]
    assert {e.shot for e in added} == {7}  # earlier capture time, but numbered after
    assert all((renamed / n).is_file() for n in lost)
    assert again.destinations[0].already == 12 - 3
    assert verify_path(renamed).exit_code == 0


def test_an_existing_different_file_is_never_overwritten(card: Path, tmp_path: Path) -> None:
    dest = tmp_path / "RAID"
    renamed = dest / f"CARD_A001{RENAMED_SUFFIX}"
    renamed.mkdir(parents=True)
    (renamed / "2026-05-02_0001.JPG").write_bytes(b"someone else's file")
    res = ingest(card, [dest])
    assert (renamed / "2026-05-02_0001.JPG").read_bytes() == b"someone else's file"
    errors = res.destinations[0].errors
    assert len(errors) == 1 and "2026-05-02_0001.JPG" in errors[0]
    assert (renamed / "2026-05-02_0001.CR3").is_file()  # the rest went on
    assert res.exit_code == 1


def test_template_and_names() -> None:
    with pytest.raises(UserInputError, match="unknown fields"):
        check_template("{date}_{lens}")
    assert split_name("IMG_0001.CR3.xmp") == ("IMG_0001", ".CR3.xmp")
    assert split_name("IMG_0001.xmp") == ("IMG_0001", ".xmp")
    assert split_name("my.photo.JPG") == ("my.photo", ".JPG")
