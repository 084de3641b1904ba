"""Exports on real RAWs: exact sizes, ICC, rights read back, capture EXIF, and failures that
leave nothing under a final name and never touch an original."""

from __future__ import annotations

import contextlib
import hashlib
import os
from pathlib import Path

import pytest
from conftest import unavailable

from pipeline.exiftool import ExifToolSession
from pipeline.photo.batch import MANIFEST, export_batch, write_manifest
from pipeline.photo.export import export_one
from pipeline.photo.icc import profile_bytes
from pipeline.photo.presets import load_preset, parse_preset
from pipeline.rights.template import load_template

D30 = "RAW_CANON_D30_SRGB.CRW"
BM = "Blackmagic_PocketCinema4K.dng"


def _sha(p: Path) -> str:
    return hashlib.sha256(p.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def session():
    with ExifToolSession() as s:
        yield s


def _read(session, path: Path) -> dict:
    return session.read_json([path], ["all"])[os.path.abspath(path)]


def test_web_export_of_a_real_raw(shared_raw, tmp_path, session):
    from PIL import Image

    before = _sha(shared_raw / D30)
    res = export_one(shared_raw / D30, load_preset("web"), tmp_path,
                     template=load_template("example"), session=session)  # fmt: skip
    assert res.status == "exported", res.error
    out = Path(res.output)
    with Image.open(out) as im:
        assert max(im.size) == 2048 and im.size == (2048, 1363)
        assert im.info["icc_profile"] == profile_bytes("sRGB")
    row = _read(session, out)
    assert row["XMP-dc:Creator"] == ["Élodie Marchand"]
    assert row["XMP-dc:Rights"].startswith("© 2002 ")  # {year} from the capture date
    assert (row["IFD0:Make"], row["IFD0:Model"]) == ("Canon", "Canon EOS D30")
    assert row["ExifIFD:DateTimeOriginal"] == "2002:11:24 15:11:22"
    assert row["ICC_Profile:ProfileDescription"] == "sRGB built-in"
    assert _sha(shared_raw / D30) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == [out.name]  # no temp left


def test_print_export_is_16_bit_adobe_rgb_at_300_ppi(shared_raw, tmp_path, session):
    import cv2

    res = export_one(shared_raw / D30, load_preset("print"), tmp_path, session=session)
    assert res.status == "exported", res.error
    img = cv2.imread(res.output, cv2.IMREAD_UNCHANGED)
    assert img.dtype.name == "uint16" and img.shape == (1448, 2176, 3)
    row = session.read_json([res.output], ["all"], extra=["-b"])[os.path.abspath(res.output)]
    assert row["ICC_Profile:ProfileDescription"] == "Adobe RGB (1998)"
    assert row["IFD0:XResolution"] == 300 and row["IFD0:ResolutionUnit"] == 2
    assert row["IFD0:BitsPerSample"] == "16 16 16"
    assert row["IFD0:Model"] == "Canon EOS D30"


@pytest.mark.parametrize(
    ("preset", "size"),
    [("social-4x5", (1080, 1350)), ("social-9x16", (1080, 1920)), ("social-1x1", (1080, 1080))],
)
def test_social_sizes_are_exact(shared_raw, tmp_path, session, preset, size):
    from PIL import Image

    res = export_one(shared_raw / BM, load_preset(preset), tmp_path, session=session)
    assert res.status == "exported", res.error
    with Image.open(res.output) as im:
        assert im.size == size


def test_small_picture_is_not_upscaled_unless_asked(shared_raw, tmp_path, session):
    small = shared_raw / "canon_eos_6d.dng"
    res = export_one(small, load_preset("web"), tmp_path / "a", session=session)
    assert (res.width, res.height) == (1224, 816)
    up = parse_preset(
        "name: up\ntitle: t\nsummary: s\nformat: jpeg\n"
        "resize: {mode: long_edge, long_edge: 2048, upscale: true}\n"
    )
    res = export_one(small, up, tmp_path / "b", session=session)
    assert (res.width, res.height) == (2048, 1365)


def _bad_batch(shared_raw: Path, tmp_path: Path) -> list[Path]:
    src = tmp_path / "src"
    src.mkdir()
    hostile = src / "IMG\n[0001].CRW"
    hostile.symlink_to(shared_raw / D30)  # by path, never copied
    jxl = src / "z9.dng"
    jxl.symlink_to(shared_raw / "nikon_z9_jxl_compressed.dng")
    cut = src / "cut.dng"
    cut.write_bytes((shared_raw / BM).read_bytes()[:2_000_000])
    sc = src / "IMG_0002.CRW"
    sc.symlink_to(shared_raw / D30)
    (src / "IMG_0002.xmp").write_text("<x:xmpmeta><broken")
    taken = src / "taken.CRW"
    taken.symlink_to(shared_raw / D30)
    return [hostile, jxl, cut, sc, taken]


def test_a_batch_with_bad_files_finishes_and_overwrites_nothing(shared_raw, tmp_path):
    sources = _bad_batch(shared_raw, tmp_path)
    out = tmp_path / "out"
    out.mkdir()
    existing = out / "taken_web.jpg"
    existing.write_bytes(b"the client's file")
    hashes = {p: _sha(p) for p in sources}
    results = export_batch(sources, load_preset("web"), out,
                           template=load_template("example"), workers=2)  # fmt: skip
    by = {Path(r.source).name: r for r in results}
    assert by["IMG\n[0001].CRW"].status == "exported"
    assert Path(by["IMG\n[0001].CRW"].output).name == "IMG_[0001]_web.jpg"
    assert "LibRaw cannot decode" in by["z9.dng"].error
    assert "truncated or damaged" in by["cut.dng"].error
    assert "not valid XMP" in by["IMG_0002.CRW"].error
    assert "exists already" in by["taken.CRW"].error
    assert existing.read_bytes() == b"the client's file"
    assert all(_sha(p) == h for p, h in hashes.items())
    manifest = write_manifest(out, results)
    lines = manifest.read_text().splitlines()
    assert lines == [f"{_sha(out / 'IMG_[0001]_web.jpg')}  IMG_[0001]_web.jpg"]
    assert sorted(p.name for p in out.iterdir()) == sorted(
        [MANIFEST, "IMG_[0001]_web.jpg", "taken_web.jpg"]
    )


@pytest.fixture
def tiny_volume(tmp_path):
    from pipeline.errors import ToolError
    from pipeline.tools import run

    mnt = tmp_path / "full"
    mnt.mkdir()
    try:
        run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(mnt)], what="mounting")
    except (ToolError, OSError) as exc:
        unavailable(f"cannot mount a small tmpfs here: {exc}")
    yield mnt
    with contextlib.suppress(ToolError, OSError):
        run(["umount", str(mnt)], what="unmounting")


def test_a_full_delivery_folder_is_a_clear_per_file_error(shared_raw, tiny_volume, session):
    before = _sha(shared_raw / D30)
    res = export_one(shared_raw / D30, load_preset("print"), tiny_volume, session=session)
    assert res.status == "error" and "no space left on device" in res.error
    assert list(tiny_volume.iterdir()) == []  # nothing half-written, no temp left
    small = export_one(shared_raw / "canon_eos_6d.dng", load_preset("social-1x1"), tiny_volume,
                       session=session)  # fmt: skip
    assert small.status == "exported", small.error  # the next file still goes
    assert _sha(shared_raw / D30) == before


def test_cli_export_with_force(shared_raw, tmp_path):
    import typer
    from typer.testing import CliRunner

    from pipeline.cli import photo

    app = typer.Typer()
    photo.register(app)
    src = tmp_path / "in"
    src.mkdir()
    (src / "a.CRW").symlink_to(shared_raw / D30)
    args = ["photo", "export", "--preset", "social-1x1", "--out", str(tmp_path / "o"), str(src)]
    r = CliRunner().invoke(app, args)
    assert r.exit_code == 0, r.output
    assert "1 exported, 0 failed" in r.output
    r = CliRunner().invoke(app, args)
    assert r.exit_code == 1 and "exists already" in r.output
    r = CliRunner().invoke(app, [*args, "--force"])
    assert r.exit_code == 0
    assert (tmp_path / "o" / MANIFEST).read_text().count("a_1x1.jpg") == 1


# --- the sample photo card, end to end through the CLI --------------------------------------------


def _expected_web_size(path: Path, entry: dict) -> tuple[int, int]:
    """The 2048 px long-edge size, computed from the source's own size (never upscaled)."""
    photo = entry.get("photo", {})
    if "width" in photo:
        w, h = photo["width"], photo["height"]
    elif photo.get("raw"):
        import rawpy

        with rawpy.imread(str(path)) as raw:
            w, h = raw.sizes.width, raw.sizes.height
            w, h = (h, w) if raw.sizes.flip in (5, 6) else (w, h)
    else:
        from PIL import Image

        with Image.open(path) as im:
            w, h = im.size
    if max(w, h) <= 2048:
        return w, h
    return (2048, round(h * 2048 / w)) if w >= h else (round(w * 2048 / h), 2048)


def _tree_hashes(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): _sha(p) for p in sorted(root.rglob("*")) if p.is_file()}


def test_cli_web_export_of_the_sample_photo_card(samples, tmp_path, session):
    """JPEG and DNG (and the real RAWs when copied in) through `rushline photo export`."""
    import json

    from PIL import Image
    from typer.testing import CliRunner

    from pipeline.cli import app

    root = Path(samples["root"])
    card = root / samples["cards"]["D_PHOTO"]["path"]
    photos = {
        Path(f["path"]).name: f
        for f in samples["cards"]["D_PHOTO"]["files"]
        if f["kind"] == "photo"
    }
    assert {".jpg", ".dng"} <= {Path(n).suffix.lower() for n in photos}
    before = _tree_hashes(card)
    out, report = tmp_path / "web", tmp_path / "web.json"
    args = ["photo", "export", "--preset", "web", "--rights", "example", "--out", str(out),
            "--json", str(report), str(card)]  # fmt: skip
    r = CliRunner().invoke(app, args)
    assert r.exit_code == 0, r.output
    results = {Path(x["source"]).name: x for x in json.loads(report.read_text())}
    assert set(results) == set(photos)
    manifest = dict(
        reversed(line.split("  ", 1)) for line in (out / MANIFEST).read_text().splitlines()
    )
    for name, entry in photos.items():
        res = results[name]
        assert res["status"] == "exported", res["error"]
        dest = Path(res["output"])
        assert dest.parent == out and dest.name == f"{Path(name).stem}_web.jpg"
        with Image.open(dest) as im:
            assert im.format == "JPEG" and im.mode == "RGB"
            assert im.size == _expected_web_size(root / entry["path"], entry)
            assert im.info["icc_profile"] == profile_bytes("sRGB")
        row = _read(session, dest)
        assert row["XMP-dc:Creator"] == ["Élodie Marchand"]
        assert row["XMP-dc:Rights"].startswith("© ")
        assert row["XMP-xmpRights:UsageTerms"].startswith("Licensed to ")
        assert row["ICC_Profile:ProfileDescription"] == "sRGB built-in"
        assert manifest[dest.name] == _sha(dest)
        if entry.get("photo", {}).get("make"):  # capture EXIF carried over
            assert row["IFD0:Make"] == entry["photo"]["make"]
    assert sorted(p.name for p in out.iterdir()) == sorted([MANIFEST, *manifest])
    assert _tree_hashes(card) == before  # originals unchanged, nothing written into the card


# --- sharpening and the integrity check ---------------------------------------------------------


def test_sharpen_raises_edge_contrast_and_leaves_flat_areas():
    import numpy as np

    from pipeline.photo.export import sharpen
    from pipeline.photo.presets import SharpenSpec

    for top, dtype in ((255, np.uint8), (65535, np.uint16)):
        img = np.full((16, 16, 3), top * 100 // 255, dtype)
        img[:, 8:] = top * 150 // 255
        img[0, 0] += top // 255  # a 1-level ripple: under the threshold, kept as it was
        out = sharpen(img, SharpenSpec(radius=1.0, amount=100, threshold=2))
        assert out.dtype == dtype
        assert out[8, 7, 0] < img[8, 7, 0] and out[8, 8, 0] > img[8, 8, 0]  # overshoot
        assert (out[:, :5] == img[:, :5]).all() and (out[:, 11:] == img[:, 11:]).all()


def test_integrity_catches_a_cut_file_and_a_foreign_icc(samples, tmp_path, session):
    from PIL import Image

    from pipeline.photo import integrity
    from pipeline.photo.capture import read_capture
    from pipeline.rights.template import FileContext, expand

    card = Path(samples["root"]) / samples["cards"]["D_PHOTO"]["path"]
    src = next(card.rglob("IMG_0003.JPG"))
    res = export_one(src, load_preset("web"), tmp_path, template=load_template("example"),
                     session=session)  # fmt: skip
    assert res.status == "exported", res.error
    good = Path(res.output)
    cap = read_capture(src.read_bytes())
    rights = expand(load_template("example"),
                    FileContext(src, seq=1, captured=cap.captured, camera=cap.camera))  # fmt: skip
    want = integrity.Expectation("jpeg", res.width, res.height, 8, "sRGB", 72, cap, rights)
    assert integrity.verify(good, want, session=session).ok
    cut = tmp_path / "cut.jpg"
    cut.write_bytes(good.read_bytes()[: good.stat().st_size * 2 // 3])
    assert any(
        "does not decode" in p for p in integrity.verify(cut, want, session=session).problems
    )
    other = tmp_path / "p3.jpg"
    with Image.open(good) as im:
        im.save(other, "JPEG", quality=85, icc_profile=profile_bytes("Display P3"),
                exif=im.getexif())  # fmt: skip
    problems = integrity.verify(other, want, session=session).problems
    assert any("ICC" in p for p in problems) and any("rights not read back" in p for p in problems)
