"""Dailies: proxies with the source timecode (burnt in and in the file), clip name, reel and
an optional show LUT; real ffmpeg, read back with MediaInfo (pymediainfo).

Encodes are kept small: the sample cards at 270 lines, tiny synthetic clips elsewhere.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
import typer
from pymediainfo import MediaInfo
from typer.testing import CliRunner

from pipeline import tools
from pipeline.cli import dailies as dailies_cli
from pipeline.deliver import burnin
from pipeline.deliver.burnin import source_timecode
from pipeline.deliver.dailies import (
    DailiesOptions,
    find_clips,
    make_dailies,
    proxy_command,
    proxy_names,
)
from pipeline.errors import ToolNotFoundError, UserInputError
from pipeline.probe import probe_file

HOSTILE = ["A'B:C%[x].mov", "-dash.mov", "new\nline\\%{pts}.mov"]


def _app() -> typer.Typer:
    app = typer.Typer()

    @app.callback()
    def _root() -> None:  # a group, so the command is called by name as in `rushline`
        pass

    dailies_cli.register(app)
    return app


def _cli(*args: str) -> object:
    return CliRunner().invoke(_app(), ["dailies", *args])


def _make_clip(path: Path, *, seconds: float = 1.0, rate: str = "25", **extra: str) -> Path:
    """A small clip: flat colour (so encodes differ only where something was drawn) + tone."""
    args = []
    for key, value in extra.items():
        args += [f"-{key.replace('_', ':')}", value]
    tools.run(
        [tools.ffmpeg_exe(), "-nostdin", "-hide_banner", "-loglevel", "error",
         "-f", "lavfi", "-i", f"color=c=0x3070C0:s=320x180:r={rate}:d={seconds}",
         "-f", "lavfi", "-i", f"sine=frequency=440:duration={seconds}",
         "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p",
         "-c:a", "aac", "-shortest", *args, tools.ffmpeg_input(path)],
        what="making a test clip",
    )  # fmt: skip
    return path


def _frame(path: Path, index: int = 5) -> np.ndarray:
    """One decoded frame as RGB (height, width, 3) uint8."""
    info = MediaInfo.parse(str(path)).video_tracks[0]
    w, h = int(info.width), int(info.height)
    out = tools.run(
        [tools.ffmpeg_exe(), "-nostdin", "-loglevel", "error", "-i", tools.ffmpeg_input(path),
         "-vf", f"select=eq(n\\,{index})", "-frames:v", "1",
         "-f", "rawvideo", "-pix_fmt", "rgb24", "pipe:1"],
        what="decoding a frame of",
    ).stdout  # fmt: skip
    return np.frombuffer(out, np.uint8).reshape(h, w, 3).astype(float)


def _tc_track(path: Path) -> dict:
    tracks = [t for t in MediaInfo.parse(str(path)).other_tracks if t.type == "Time code"]
    assert tracks, f"{path.name} has no timecode track"
    return tracks[0].to_data()


# --- the sample cards -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def card_dailies(samples, tmp_path_factory) -> tuple[Path, list]:
    """H.264 dailies of cards A (XDCAM, sidecars and ._ litter) and B (ProRes, reel A001)."""
    root = Path(samples["root"])
    out = tmp_path_factory.mktemp("dailies")
    opts = DailiesOptions(out_dir=out, codec="h264", height=270)
    proxies = make_dailies([root / "cards/A_XDCAM", root / "cards/B_A001"], opts)
    return out, proxies


def _sample_clips(samples) -> list[dict]:
    clips = []
    for card in ("A_XDCAM", "B_A001"):
        clips += [f for f in samples["cards"][card]["files"] if f["kind"] == "video"]
    return clips


def test_card_proxies_keep_timecode_frames_reel_and_aspect(samples, card_dailies):
    out, proxies = card_dailies
    assert [p.status for p in proxies] == ["made"] * 6, [p.error for p in proxies]
    # One proxy per clip, named by the clip's base name; sidecars and ._ files made nothing.
    assert sorted(p.name for p in out.iterdir()) == sorted(
        Path(c["path"]).stem + ".mp4" for c in _sample_clips(samples)
    )
    for clip in _sample_clips(samples):
        proxy = out / (Path(clip["path"]).stem + ".mp4")
        mi = MediaInfo.parse(str(proxy))
        v, g = mi.video_tracks[0], mi.general_tracks[0]
        assert _tc_track(proxy)["time_code_of_first_frame"] == clip["start_timecode"]
        assert int(v.frame_count) == clip["video"]["frame_count"]
        assert int(v.height) == 270
        assert int(v.width) == round(270 * clip["video"]["width"] / clip["video"]["height"])
        back = probe_file(proxy).video[0]
        assert (back.codec, back.chroma_subsampling, back.colour_primaries) == (
            "AVC",
            "4:2:0",
            "BT.709",
        )
        assert back.matrix_coefficients == "BT.709" and back.transfer_characteristics == "BT.709"
        assert mi.audio_tracks[0].format == "AAC"
        assert getattr(g, "reel_name", None) == clip.get("reel")
        data = proxy.read_bytes()
        assert data.find(b"moov") < data.find(b"mdat"), "faststart: moov before the media"


def test_prores_proxy_has_timecode_track_with_reel_and_pcm(samples, tmp_path):
    clip = next(c for c in _sample_clips(samples) if c.get("reel"))
    src = Path(samples["root"]) / clip["path"]
    [proxy] = make_dailies(
        [src], DailiesOptions(out_dir=tmp_path, codec="prores-proxy", height=180)
    )
    assert proxy.status == "made", proxy.error
    out = tmp_path / (src.stem + ".mov")
    back = probe_file(out)
    assert back.video[0].codec == "ProRes" and back.video[0].codec_profile == "422 Proxy"
    assert back.start_timecode == clip["start_timecode"]
    assert back.reel == clip["reel"]  # tmcd track title, as the camera card writes it
    assert back.video[0].frame_count == clip["video"]["frame_count"]
    assert back.audio[0].codec == "PCM" and back.audio[0].bit_depth == 24


# --- timecode, burn-in, LUT -------------------------------------------------------------------


def test_drop_frame_timecode_kept_and_burnt_as_drop_frame(tmp_path):
    src = _make_clip(tmp_path / "DF.mov", rate="30000/1001", timecode="00:00:59;28")
    clip = probe_file(src)
    tc = source_timecode(clip.start_timecode, clip.video[0].frame_rate)
    assert (tc.value, tc.drop_frame, str(tc.rate)) == ("00:00:59;28", True, "30000/1001")
    cmd = " ".join(proxy_command(clip, tmp_path / "x.part", DailiesOptions(tmp_path), tc, tmp_path))
    assert "rate=30000/1001" in cmd and r"timecode=00\\:00\\:59\;28" in cmd
    [proxy] = make_dailies([src], DailiesOptions(out_dir=tmp_path / "out", height=144))
    assert proxy.drop_frame and proxy.status == "made"
    tmcd = _tc_track(tmp_path / "out" / "DF.mp4")
    assert tmcd["time_code_of_first_frame"] == "00:00:59;28"
    assert tmcd["time_code_of_last_frame"] == "00:01:00;28"  # 29 frames, counted drop-frame


def test_timecode_rules():
    assert source_timecode("01:00:00:00", 29.97).drop_frame is False  # 29.97 NDF stays NDF
    assert source_timecode("01:00:00;00", 59.94).value == "01:00:00;00"
    assert source_timecode("10:00:00;00", 25.0).value == "10:00:00:00"  # no DF at 25
    none = source_timecode(None, 24.0)
    assert (none.value, none.from_source) == ("00:00:00:00", False)
    with pytest.raises(UserInputError):
        source_timecode("garbage", 25.0)


def test_burn_in_is_drawn_only_where_the_text_is(tmp_path):
    src = _make_clip(tmp_path / "FLAT.mov", timecode="01:02:03:04", metadata_s_v_0="reel_name=R9")
    base = DailiesOptions(out_dir=tmp_path / "plain", height=180, burn_in=False)
    make_dailies([src], base)
    make_dailies([src], DailiesOptions(out_dir=tmp_path / "burnt", height=180))
    plain, burnt = _frame(tmp_path / "plain/FLAT.mp4"), _frame(tmp_path / "burnt/FLAT.mp4")
    diff = np.abs(plain - burnt).mean(axis=2)
    assert diff[:22, :60].mean() > 30, "clip name box missing (top left)"
    assert diff[:22, -60:].mean() > 30, "reel box missing (top right)"
    assert diff[-22:, 130:190].mean() > 30, "timecode box missing (bottom centre)"
    assert diff[50:130, 40:280].mean() < 3, "the picture changed outside the text"


def test_lut_zeroes_blue_before_the_burn_in(tmp_path):
    src = _make_clip(tmp_path / "COL.mov")
    cube = tmp_path / "no blue.cube"  # a space in the LUT's name too
    rows = [f"{r} {g} 0" for b in (0, 1) for g in (0, 1) for r in (0, 1)]
    cube.write_text('TITLE "no blue"\nLUT_3D_SIZE 2\n' + "\n".join(rows) + "\n")
    make_dailies([src], DailiesOptions(out_dir=tmp_path / "a", height=180, burn_in=False))
    make_dailies([src], DailiesOptions(out_dir=tmp_path / "b", height=180, lut=cube))
    before = _frame(tmp_path / "a/COL.mp4")[50:130, 40:280].mean(axis=(0, 1))
    after = _frame(tmp_path / "b/COL.mp4")[50:130, 40:280].mean(axis=(0, 1))
    assert before[2] > 150 and after[2] < 20, (before, after)  # blue gone
    assert abs(after[0] - before[0]) < 12 and abs(after[1] - before[1]) < 12  # red, green kept
    # The burn-in comes after the LUT: its white text is still white, not yellow.
    text = _frame(tmp_path / "b/COL.mp4")[-22:, 130:190].reshape(-1, 3)
    assert text[:, 2].max() > 200


# --- CLI: hostile names, no overwrite, a bad clip in the batch --------------------------------


def test_hostile_names_end_to_end_through_the_cli(samples, tmp_path, monkeypatch):
    good = Path(samples["root"]) / samples["misc"]["leading_dash"]["path"]
    card = tmp_path / "card"
    card.mkdir()
    for name in HOSTILE:
        shutil.copy(good, card / name)
    out = tmp_path / "out [x]"
    monkeypatch.chdir(card)  # "-dash.mov" given as typed, after "--"
    res = _cli("--out", str(out), "--height", "144", "--", HOSTILE[1], str(card))
    assert res.exit_code == 0, res.output
    assert "Traceback" not in res.output
    assert sorted(p.name for p in out.iterdir()) == sorted(Path(n).stem + ".mp4" for n in HOSTILE)
    assert "A'B:C%[x].mov" in res.output  # printed literally, not eaten as markup
    for name in HOSTILE:
        proxy = out / (Path(name).stem + ".mp4")
        assert int(MediaInfo.parse(str(proxy)).video_tracks[0].frame_count) == 50


def test_hostile_name_reaches_drawtext_literally(tmp_path):
    src = _make_clip(tmp_path / HOSTILE[0])
    clip = probe_file(src)
    tc = source_timecode(clip.start_timecode, clip.video[0].frame_rate)
    cmd = proxy_command(clip, tmp_path / "x.part", DailiesOptions(tmp_path), tc, tmp_path)
    assert cmd[cmd.index("-i") + 1] == "file:" + str(src)  # ffmpeg-python left it alone
    assert (tmp_path / "name.txt").read_text() == HOSTILE[0]
    assert "expansion=none" in " ".join(cmd)


def test_existing_proxy_is_skipped_unless_force(tmp_path):
    src = _make_clip(tmp_path / "KEEP.mov")
    out = tmp_path / "out"
    out.mkdir()
    (out / "KEEP.mp4").write_bytes(b"editorial's file")
    res = _cli("--out", str(out), "--height", "144", str(src))
    assert res.exit_code == 0, res.output
    assert "skipped" in res.output
    assert (out / "KEEP.mp4").read_bytes() == b"editorial's file"
    res = _cli("--out", str(out), "--height", "144", "--force", str(src))
    assert res.exit_code == 0, res.output
    assert MediaInfo.parse(str(out / "KEEP.mp4")).video_tracks, "--force made a real proxy"
    assert [p.name for p in out.iterdir()] == ["KEEP.mp4"]  # no temp left behind


def test_truncated_clips_fail_alone_and_the_batch_goes_on(samples, tmp_path):
    card = tmp_path / "card"
    card.mkdir()
    shutil.copy(Path(samples["root"]) / samples["misc"]["truncated"]["path"], card / "NOMOOV.mov")
    whole = _make_clip(tmp_path / "whole.mp4", seconds=2.0, movflags="+faststart")
    data = whole.read_bytes()
    (card / "HALF.mp4").write_bytes(data[: len(data) // 2])  # header intact, media cut
    _make_clip(card / "GOOD.mov")
    out = tmp_path / "out"
    res = _cli("--out", str(out), "--height", "144", str(card))
    assert res.exit_code == 1, res.output
    assert "Traceback" not in res.output
    assert "NOMOOV.mov" in res.output and "HALF.mp4" in res.output
    assert "truncated" in res.output
    assert sorted(p.name for p in out.iterdir()) == ["GOOD.mp4"]  # nothing partial, no .part


def test_bad_arguments_exit_2_before_any_work(tmp_path):
    src = _make_clip(tmp_path / "C.mov")
    not_cube = tmp_path / "look.3dl"
    not_cube.write_text("x")
    empty_cube = tmp_path / "empty.cube"
    empty_cube.write_text("TITLE only\n")
    for extra in (
        ["--height", "541"],
        ["--lut", str(tmp_path / "missing.cube")],
        ["--lut", str(not_cube)],
        ["--lut", str(empty_cube)],
        ["--codec", "vp9"],
    ):
        res = _cli("--out", str(tmp_path / "out"), *extra, str(src))
        assert res.exit_code == 2, (extra, res.output)
    res = _cli("--out", str(tmp_path / "proxies"), str(tmp_path))  # inside the source folder
    assert res.exit_code == 2 and "never write into a card" in res.output
    assert not (tmp_path / "out").exists() and not (tmp_path / "proxies").exists()


def test_missing_font_says_what_to_install(tmp_path, monkeypatch):
    monkeypatch.setattr(burnin, "FONT", tmp_path / "none.ttf")
    with pytest.raises(ToolNotFoundError, match="apt-get install fonts-dejavu-core"):
        make_dailies([tmp_path], DailiesOptions(out_dir=tmp_path / "out"))


# --- which clips, which names -----------------------------------------------------------------


def test_find_clips_skips_sidecars_and_litter(samples):
    card = Path(samples["root"]) / "cards/A_XDCAM"
    assert [p.name for p in find_clips([card])] == ["C0001.MP4", "C0002.MP4", "C0003.MP4"]


def test_names_are_flat_unless_base_names_collide(tmp_path):
    a = tmp_path / "A_CARD/CLIP/C0001.MP4"
    b = tmp_path / "B_CARD/CLIP/C0001.MP4"
    c = tmp_path / "B_CARD/CLIP/C0002.MP4"
    d, e = tmp_path / "X/A001C001.mov", tmp_path / "X/A001C001.mxf"
    names = proxy_names([a, b, c, d, e], tmp_path / "out", "prores-proxy")
    rel = {
        k.name + k.parent.parent.name: str(v.relative_to(tmp_path / "out"))
        for k, v in names.items()
    }
    assert rel["C0001.MP4A_CARD"] == "A_CARD/CLIP/C0001.mov"
    assert rel["C0001.MP4B_CARD"] == "B_CARD/CLIP/C0001.mov"
    assert rel["C0002.MP4B_CARD"] == "C0002.mov"
    assert {str(names[d].name), str(names[e].name)} == {"A001C001_mov.mov", "A001C001_mxf.mov"}
