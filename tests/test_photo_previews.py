"""Culling previews from embedded JPEGs: oriented, per-file errors, both cores."""

from __future__ import annotations

import io
from pathlib import Path

from PIL import Image, ImageOps

from pipeline.hashing import hash_file
from pipeline.photo.previews import make_previews, preview_names, with_orientation


def _jpeg(path: Path, size: tuple[int, int], orientation: int | None = None) -> None:
    exif = Image.Exif()
    if orientation:
        exif[0x0112] = orientation
    img = Image.new("RGB", size, (200, 30, 30))
    img.paste((30, 30, 200), (0, 0, size[0] // 2, size[1]))  # left half blue
    img.save(path, exif=exif)


def _shown(path: Path) -> Image.Image:
    with Image.open(path) as img:
        return ImageOps.exif_transpose(img)


def test_real_raws_previews_and_clear_errors(shared_raw: Path, tmp_path: Path) -> None:
    names = ["RAW_CANON_D30_SRGB.CRW", "canon_eos_6d.dng", "Nikon_COOLSCAN_IV_uncompressed.nef",
             "Blackmagic_PocketCinema4K.dng", "metadata_only/exiftool_Nikon.nef"]  # fmt: skip
    sources = [shared_raw / n for n in names]
    before = [hash_file(s, ["xxh128"]) for s in sources]
    run = make_previews(sources, tmp_path / "prev", workers=2, long_edge=1024)
    got = {Path(p.source).name: p for p in run.previews}
    crw = got["RAW_CANON_D30_SRGB.CRW"]
    assert crw.how == "embedded" and max(crw.width, crw.height) == 1024
    assert _shown(Path(crw.preview)).size == (crw.width, crw.height)
    assert got["canon_eos_6d.dng"].how == "embedded"  # 1024 px preview written as it is
    assert got["Nikon_COOLSCAN_IV_uncompressed.nef"].how == "embedded-bitmap"
    bmd = got["Blackmagic_PocketCinema4K.dng"]
    assert bmd.preview is None and "no embedded preview" in bmd.error
    assert "exiftool_Nikon.nef" in got["exiftool_Nikon.nef"].error  # truncated: named
    assert len(run.failed) == 2
    assert [hash_file(s, ["xxh128"]) for s in sources] == before  # originals untouched


def test_jpeg_orientation_and_reduced_decode(tmp_path: Path) -> None:
    src = tmp_path / "portrait.jpg"
    _jpeg(src, (3000, 2000), orientation=6)  # held upright: shown 2000 x 3000
    run = make_previews([src], tmp_path / "prev", long_edge=600, workers=1)
    p = run.previews[0]
    assert p.error is None and (p.width, p.height) == (400, 600)
    img = Image.open(p.preview)
    assert img.size == (400, 600)  # turned in the pixels, not only flagged
    top = img.getpixel((200, 20))  # the blue left half is now on top
    assert top[2] > 150 and top[0] < 100


def test_orientation_of_a_passed_through_raw_preview() -> None:
    buf = io.BytesIO()
    Image.new("RGB", (60, 40), (0, 0, 0)).save(buf, "JPEG")
    turned = with_orientation(buf.getvalue(), 6)
    assert ImageOps.exif_transpose(Image.open(io.BytesIO(turned))).size == (40, 60)


def test_bad_files_and_hostile_names_do_not_stop_the_batch(tmp_path: Path) -> None:
    odd = tmp_path / "line\nbreak [x].jpg"
    _jpeg(odd, (800, 600))
    bad = tmp_path / "-corrupt.CR3"
    bad.write_bytes(b"\x00" * 4096)
    other = tmp_path / "sub"
    other.mkdir()
    twin = other / "line\nbreak [x].jpg"
    _jpeg(twin, (640, 480))
    run = make_previews([bad, odd, twin], tmp_path / "out", workers=2)
    assert run.previews[0].error and "-corrupt.CR3" in run.previews[0].error
    assert run.previews[1].error is None and run.previews[2].error is None
    assert run.previews[1].preview != run.previews[2].preview  # same name, two folders
    again = make_previews([odd], tmp_path / "out", workers=1)
    assert again.previews[0].how == "already"  # never overwritten without asking
    assert preview_names([Path("a/X.CR3"), Path("b/x.cr3")]) == ["X.CR3.jpg", "x.cr3-2.jpg"]
