"""Photo export presets: strict loading, the user folder override, exact sizes."""

from __future__ import annotations

import pytest

from pipeline.errors import ProfileError
from pipeline.photo.export import plan_size
from pipeline.photo.presets import ResizeSpec, list_presets, load_preset, parse_preset


def test_bundled_presets_load_with_their_specification():
    names = {name: preset for name, _, preset, err in list_presets() if err is None}
    assert {"web", "print", "social-4x5", "social-9x16", "social-1x1", "library"} <= set(names)
    web, prt = names["web"], names["print"]
    assert (web.format, web.colour_space, web.resize.long_edge) == ("jpeg", "sRGB", 2048)
    assert web.sharpen is not None
    assert (prt.format, prt.bit_depth, prt.colour_space, prt.ppi) == ("tiff", 16, "Adobe RGB", 300)
    sizes = {n: (names[n].resize.width, names[n].resize.height) for n in names if "social" in n}
    assert sizes == {
        "social-4x5": (1080, 1350),
        "social-9x16": (1080, 1920),
        "social-1x1": (1080, 1080),
    }


def test_a_typo_names_the_line_and_suggests_the_key(tmp_path):
    f = tmp_path / "mine.yaml"
    f.write_text(
        "name: mine\ntitle: t\nsummary: s\nformat: jpeg\nresize:\n  mode: long_edge\n"
        "  long_egde: 1600\n"
    )
    with pytest.raises(ProfileError) as exc:
        load_preset(f)
    assert "mine.yaml:7: resize.long_egde: unknown key (did you mean 'long_edge'?)" in str(
        exc.value
    )


def test_incoherent_presets_are_refused():
    base = "name: x\ntitle: t\nsummary: s\nresize: {mode: full}\n"
    with pytest.raises(ProfileError, match="JPEG is 8-bit"):
        parse_preset(base + "format: jpeg\nbit_depth: 16\n")
    with pytest.raises(ProfileError, match="unknown variable"):
        parse_preset(base + "format: jpeg\nfilename: '{nope}'\n")
    with pytest.raises(ProfileError, match="duplicate key"):
        parse_preset(base + "format: jpeg\nformat: tiff\n")


def test_user_folder_overrides_the_bundled_preset(tmp_path, monkeypatch):
    (tmp_path / "web.yaml").write_text(
        "name: web\ntitle: Ours\nsummary: s\nformat: jpeg\nresize: {mode: long_edge, "
        "long_edge: 1600}\n"
    )
    monkeypatch.setenv("RUSHLINE_PHOTO_PRESETS", str(tmp_path))
    assert load_preset("web").resize.long_edge == 1600
    assert load_preset("print").bit_depth == 16  # the others still come from the bundle
    with pytest.raises(ProfileError, match="did you mean 'web'"):
        load_preset("wbe")


def test_sizes_are_exact_and_never_upscaled_unless_asked():
    le = ResizeSpec(mode="long_edge", long_edge=2048)
    assert plan_size(2176, 1448, le)[1:] == (2048, 1363)
    assert plan_size(1448, 2176, le)[1:] == (1363, 2048)
    assert plan_size(1224, 816, le)[1:] == (1224, 816)
    assert plan_size(1224, 816, ResizeSpec(mode="long_edge", long_edge=2048, upscale=True))[1:] == (
        2048,
        1365,
    )
    box = ResizeSpec(mode="box", width=1080, height=1350, anchor="top")
    crop, w, h = plan_size(4128, 2176, box)
    assert (w, h) == (1080, 1350) and crop == (1194, 0, 1194 + 1740, 2176)
    _, w, h = plan_size(1224, 816, ResizeSpec(mode="box", width=1080, height=1920))
    assert (w, h) == (459, 816) and w * 1920 == h * 1080  # the exact ratio, not upscaled
