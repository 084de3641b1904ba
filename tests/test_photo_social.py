"""Social deliveries: a captions file per photo (caption, credit, hashtags) beside the crops."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from conftest import need_tool
from PIL import Image

from pipeline.photo.social import hashtag, hashtags, social


def test_hashtags_from_keywords() -> None:
    assert hashtag("Les Quais") == "#LesQuais"
    assert hashtag("été") == "#été"
    assert hashtag("2026") is None  # digits only link nowhere
    assert hashtag("rock'n'roll!") == "#RockNRoll"
    assert hashtags(["Paris", "paris", "PARIS", "Seine"]) == ["#Paris", "#Seine"]
    assert len(hashtags([f"tag{i}" for i in range(50)])) == 30


def test_captions_from_the_photo_and_the_template(tmp_path: Path) -> None:
    need_tool("exiftool", "libimage-exiftool-perl")
    from pipeline.exiftool import ExifToolSession

    plain = tmp_path / "plain.jpg"
    Image.new("RGB", (300, 200), (10, 120, 200)).save(plain)
    tagged = tmp_path / "IMG_0001.jpg"
    with ExifToolSession() as et:
        et.write(plain, [("XMP-dc:Description", "Dawn on the Pont Neuf"),
                         ("XMP-dc:Subject", "bridge"), ("XMP-dc:Subject", "Seine river")],
                 out=tagged)  # fmt: skip
    odd = tmp_path / "line\nbreak.jpg"
    shutil.copy(plain, odd)
    posts = social([tagged, odd], tmp_path / "out", rights="example", crops=False)
    first = (tmp_path / "out" / "IMG_0001.caption.txt").read_text()
    assert first.startswith("Dawn on the Pont Neuf\n")  # the photo's own caption wins
    assert "Élodie Marchand / Studio Lumière" in first  # credit from the template
    assert "#Bridge" not in first and "#bridge" in first and "#SeineRiver" in first
    assert "#LesQuais" in first and "#MaisonDupré" in first  # the template's keywords
    second = posts[1]
    assert second.caption.startswith("Les Quais for Maison Dupré")  # template's description
    assert second.captions and "\n" not in Path(second.captions).name
    again = social([tagged], tmp_path / "out", crops=False)
    assert again[0].errors and "exists already" in again[0].errors[0]  # never overwritten


def test_crops_through_the_export_presets(shared_raw: Path, tmp_path: Path) -> None:
    pytest.importorskip("pipeline.photo.batch")
    series = [shared_raw / "canon_eos_6d.dng", shared_raw / "nikon_z9_jxl_compressed.dng"]
    posts = social(series, tmp_path / "out", rights="example")
    good, bad = posts
    # the 6D DNG is 1224 x 816: smaller than the boxes, so cropped to each ratio, not upscaled
    ratios = {Path(c).stem.rsplit("_", 1)[1]: Image.open(c).size for c in good.crops}
    assert set(ratios) == {"4x5", "1x1", "9x16"}
    for name, (w, h) in ratios.items():
        rw, rh = (int(x) for x in name.split("x"))
        assert abs(w * rh - h * rw) <= max(rw, rh) and 800 <= h <= 816
    assert not good.errors and Path(good.captions).is_file()
    assert len(bad.errors) == 3 and not bad.crops  # LibRaw cannot decode it: said per preset
    assert Path(bad.captions).is_file()  # the batch went on
