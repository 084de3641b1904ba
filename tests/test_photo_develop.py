"""RAW develop (LibRaw), ICC profiles, and Lightroom/ACR sidecar settings on real files."""

from __future__ import annotations

import io

import numpy as np
import pytest

from pipeline.errors import MediaError
from pipeline.photo import icc
from pipeline.photo.develop import develop
from pipeline.photo.presets import DevelopSpec

D30 = "RAW_CANON_D30_SRGB.CRW"


@pytest.mark.parametrize(
    ("space", "red", "green"),
    [
        ("Adobe RGB", (219, 0, 0), (144, 255, 60)),  # published sRGB -> Adobe RGB values
        ("Display P3", (234, 51, 35), (117, 251, 76)),
    ],
)
def test_built_profiles_convert_like_the_published_values(space, red, green):
    from PIL import Image, ImageCms

    srgb = ImageCms.ImageCmsProfile(io.BytesIO(icc.profile_bytes("sRGB")))
    dst = ImageCms.ImageCmsProfile(io.BytesIO(icc.profile_bytes(space)))
    im = Image.new("RGB", (2, 1))
    im.putpixel((0, 0), (255, 0, 0))
    im.putpixel((1, 0), (0, 255, 0))
    out = ImageCms.profileToProfile(
        im, srgb, dst, renderingIntent=ImageCms.Intent.RELATIVE_COLORIMETRIC
    )
    for got, want in ((out.getpixel((0, 0)), red), (out.getpixel((1, 0)), green)):
        assert all(abs(a - b) <= 1 for a, b in zip(got, want, strict=True)), (got, want)
    assert icc.description(icc.profile_bytes(space)) == icc.SPACES[space].name


def test_develop_a_real_raw_in_each_space(shared_raw):
    srgb = develop(shared_raw / D30, DevelopSpec(), "sRGB", 8)
    adobe = develop(shared_raw / D30, DevelopSpec(), "Adobe RGB", 16)
    assert srgb.size == (2176, 1448) and srgb.pixels.dtype == np.uint8
    assert adobe.size == (2176, 1448) and adobe.pixels.dtype == np.uint16
    assert 40 < srgb.pixels.mean() < 220  # a picture, not black or blown out
    # Adobe RGB's wider gamut makes the same colours less saturated in its numbers.
    sat = lambda a: float((a.max(axis=2) - a.min(axis=2)).mean() / a.max())  # noqa: E731
    assert sat(adobe.pixels.astype(float)) < sat(srgb.pixels.astype(float))


def test_half_size_only_when_it_still_covers_the_output(shared_raw):
    bm = shared_raw / "Blackmagic_PocketCinema4K.dng"
    half = develop(bm, DevelopSpec(), "sRGB", 8, fits=lambda w, h: max(w, h) >= 2048)
    assert half.size == (2064, 1088) and any("half size" in n for n in half.notes)
    full = develop(bm, DevelopSpec(), "sRGB", 8, fits=lambda w, h: max(w, h) >= 4096)
    assert full.size == (4128, 2176)


def test_jpeg_xl_dng_and_truncated_raw_are_clear_errors(shared_raw, tmp_path):
    with pytest.raises(MediaError, match="LibRaw cannot decode"):
        develop(shared_raw / "nikon_z9_jxl_compressed.dng", DevelopSpec(), "sRGB", 8)
    data = (shared_raw / "Blackmagic_PocketCinema4K.dng").read_bytes()
    cut = tmp_path / "cut.dng"
    cut.write_bytes(data[: len(data) * 9 // 10])  # a copy interrupted at 90 %
    with pytest.raises(MediaError, match="truncated or damaged"):
        develop(cut, DevelopSpec(), "sRGB", 8)
    head = tmp_path / "head.CRW"
    head.write_bytes((shared_raw / D30).read_bytes()[:100_000])  # cut before its directory
    with pytest.raises(MediaError, match="cannot decode"):
        develop(head, DevelopSpec(), "sRGB", 8)


def _linked(shared_raw, tmp_path, sidecar: str):
    raw = tmp_path / D30
    raw.symlink_to(shared_raw / D30)  # by path: the real RAW is never copied
    (tmp_path / "RAW_CANON_D30_SRGB.xmp").write_text(sidecar)
    return raw


XMP = """<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF
 xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description rdf:about=""
 xmlns:crs="http://ns.adobe.com/camera-raw-settings/1.0/" xmlns:tiff="http://ns.adobe.com/tiff/1.0/"
 crs:HasSettings="True" crs:WhiteBalance="Custom" crs:Temperature="3200" crs:Tint="+7"
 crs:Exposure2012="+1.00" crs:Clarity2012="+20" crs:HasCrop="True" crs:CropTop="0.1"
 crs:CropLeft="0.2" crs:CropBottom="0.9" crs:CropRight="0.8" crs:CropAngle="0"
 tiff:Orientation="6"/></rdf:RDF></x:xmpmeta>"""


def test_sidecar_basics_applied_and_the_rest_listed(shared_raw, tmp_path):
    raw = _linked(shared_raw, tmp_path, XMP)
    plain = develop(shared_raw / D30, DevelopSpec(auto_bright=False), "sRGB", 8)
    dev = develop(raw, DevelopSpec(), "sRGB", 8)
    # crop 60 % x 80 % of 2176x1448, then rotated 90° (orientation 6): portrait
    assert dev.size == (round(0.8 * 1448), round(0.6 * 2176))
    assert any("3200 K" in a for a in dev.applied) and any("+1.00 EV" in a for a in dev.applied)
    assert "Clarity2012=+20" in dev.not_applied and any("Tint" in n for n in dev.not_applied)
    # +1 EV and a tungsten white balance: brighter, and bluer than the as-shot picture
    assert dev.pixels.mean() > plain.pixels.mean()
    b_over_r = lambda a: a[..., 2].mean() / a[..., 0].mean()  # noqa: E731
    assert b_over_r(dev.pixels) > b_over_r(plain.pixels)


def test_a_corrupt_sidecar_stops_that_file(shared_raw, tmp_path):
    raw = _linked(shared_raw, tmp_path, "<x:xmpmeta><rdf:RDF>broken")
    with pytest.raises(MediaError, match="not valid XMP"):
        develop(raw, DevelopSpec(), "sRGB", 8)
    assert develop(raw, DevelopSpec(apply_sidecar=False), "sRGB", 8).size == (2176, 1448)


def test_jpeg_source_goes_through_pillow_with_colour_management(tmp_path):
    from PIL import Image

    src = tmp_path / "in.jpg"
    Image.new("RGB", (64, 48), (255, 0, 0)).save(src, quality=100)
    dev = develop(src, DevelopSpec(), "Adobe RGB", 16)
    assert dev.size == (64, 48) and dev.pixels.dtype == np.uint16
    r, g, b = (dev.pixels[24, 32] / 257).round()
    assert abs(r - 219) <= 2 and g <= 2 and b <= 2
