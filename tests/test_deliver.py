"""Deliver: real ffmpeg encodes of a short 1080i25 master, QC'd in a closed loop, read back
with MediaInfo; misfit masters refused with a clear message; no partial file under a final name.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from pymediainfo import MediaInfo

from pipeline import tools
from pipeline.deliver import encode as encode_mod
from pipeline.deliver.encode import parse_progress
from pipeline.deliver.graph import tc_minus
from pipeline.deliver.run import WORK_DIR, Options, deliver, deliver_one, finish_delivery
from pipeline.deliver.spec import DeliverError, inspect_master, layout_channels, plan_delivery
from pipeline.errors import ProfileError
from pipeline.exiftool import ExifToolSession
from pipeline.profiles import HeadSpec, load_profile, parse_profile

# Bars and slate at least 2 s each: QC's still-card detection (freeze minimum) finds the line-up.
HEAD = HeadSpec(bars_s=2, slate_s=2, black_s=1, tone_tracks=[1, 2])
FF = tools.ffmpeg_exe


def make_master(
    dest: Path,
    *,
    seconds: float = 3,
    rate: str = "25",
    channels: int = 4,
    interlaced: bool = True,
    extra: list[str] | None = None,
    vf: str | None = None,
) -> Path:
    """A short programme: moving picture, `channels` channels of noise-like tones."""
    args = [FF(), "-hide_banner", "-loglevel", "error", "-y"]
    args += ["-f", "lavfi", "-i", f"testsrc2=size=1920x1080:rate={rate}:d={seconds}"]
    if channels:
        exprs = "|".join(
            f"0.1*sin(2*PI*{220 * (i + 2)}*t)*(0.6+0.4*sin(3*t))" for i in range(channels)
        )
        args += ["-f", "lavfi", "-i", f"aevalsrc={exprs}:c={channels}c:s=48000:d={seconds}"]
    bt709 = "scale=out_color_matrix=bt709:out_range=tv,format=yuv422p"
    vf = vf or (f"setfield=tff,{bt709}" if interlaced else bt709)
    args += ["-vf", vf, "-c:v", "mpeg2video", "-b:v", "15M"]
    if interlaced:
        args += ["-flags", "+ildct+ilme"]
    if channels:
        args += ["-c:a", "pcm_s24le"]
    args += [*(extra or []), "-timecode", "01:00:00:00", str(dest)]
    tools.run(args, what="making a test master", path=dest)
    return dest


@pytest.fixture(scope="module")
def master(tmp_path_factory) -> Path:
    return make_master(tmp_path_factory.mktemp("m") / "FILM [cut]_v1.mov")


@pytest.fixture(scope="module")
def delivered(master, tmp_path_factory):
    out = tmp_path_factory.mktemp("delivery")
    profiles = [load_profile("fr-pad-hd"), load_profile("web-h264")]
    opts = Options(out_dir=out, head=HEAD, title="Film", rights_template="example")
    note = deliver([master], profiles, opts)
    return out, note


def _mi(path: str, full: bool = False):
    return MediaInfo.parse(path, parse_speed=1, full=full)


def test_pad_passes_its_profile_and_mediainfo_confirms_the_format(delivered):
    out, note = delivered
    pad = next(d for d in note.deliverables if d.profile == "fr-pad-hd")
    assert pad.status == "delivered", pad.error
    assert pad.qc_verdict in ("pass", "warn")
    assert not [f for f in pad.qc_findings if f["severity"] == "error"]
    mi = _mi(pad.output, full=True)
    g, v = mi.general_tracks[0], mi.video_tracks[0].to_data()
    assert (g.format, g.format_profile) == ("MXF", "OP-1a")
    assert (v["format"], v["format_profile"]) == ("MPEG Video", "4:2:2@High")
    assert v["bit_rate_mode"] == "CBR" and v["bit_rate"] == 50_000_000
    assert v["format_settings__gop"] == "M=3, N=12" and v["gop__open_closed"] == "Closed"
    assert (v["scan_type"], v["scan_order"]) == ("Interlaced", "TFF")
    assert (v["width"], v["height"]) == (1920, 1080)
    audio = mi.audio_tracks
    assert len(audio) == 8
    assert {(a.format, a.channel_s, a.bit_depth, a.sampling_rate) for a in audio} == {
        ("PCM", 1, 24, 48000)
    }
    # programme first frame at 10:00:00:00, the 5 s head before it
    assert pad.start_timecode == "09:59:55:00" and pad.programme_start_timecode == "10:00:00:00"
    assert v["time_code_of_first_frame"] == "09:59:55:00"
    # loudness normalised to the PAD's -23 LUFS on tracks 1-2, measured back by QC
    assert abs(pad.measured["integrated_lufs"] - -23.0) <= 0.1
    assert pad.normalisation is not None and pad.normalisation["limiter_used"] is False


def test_web_version_is_faststart_h264_bt709_aac_lc(delivered):
    out, note = delivered
    web = next(d for d in note.deliverables if d.profile == "web-h264")
    assert web.status == "delivered", web.error
    assert web.qc_verdict == "pass", web.qc_findings
    mi = _mi(web.output)
    g, v, a = mi.general_tracks[0], mi.video_tracks[0], mi.audio_tracks[0]
    assert g.format == "MPEG-4"
    data = Path(web.output).read_bytes()
    assert 0 < data.find(b"moov") < data.find(b"mdat")  # faststart: the index comes first
    assert v.format == "AVC" and v.scan_type == "Progressive"
    prim = v.to_data().get("color_primaries") or v.to_data().get("colour_primaries")
    assert (prim, v.transfer_characteristics, v.matrix_coefficients) == (
        "BT.709",
        "BT.709",
        "BT.709",
    )
    assert a.format.startswith("AAC") and "LC" in (a.format_additionalfeatures or a.format)
    assert a.to_data()["channel_s"] in (2, "2", "2 channels")
    assert abs(web.measured["integrated_lufs"] - -18.0) <= 0.1  # web-h264: AES TD1008
    # AAC: the sound was encoded and measured on its own first, and the note says so
    assert web.normalisation and web.normalisation["codec_correction"]["probes"] >= 1
    assert any("aac encode measured on its own" in n for n in web.notes)
    assert any("deinterlaced" in n for n in web.notes)  # 1080i master → progressive, said so


def test_delivery_folder_has_note_reports_and_mhl_but_no_work_files(delivered):
    out, note = delivered
    assert (out / "delivery_note.json").is_file() and (out / "delivery_note.html").is_file()
    assert note.manifest and Path(note.manifest).is_file()
    manifest = Path(note.manifest).read_text()
    for d in note.deliverables:
        assert Path(d.output).name in manifest
    assert not (out / WORK_DIR).exists()
    assert not [p for p in out.rglob("*") if p.name.endswith(".part") or "tmp" in p.name]
    html = (out / "delivery_note.html").read_text()
    assert "FILM [cut]_v1.mov" in html and "fr-pad-hd" in html


def test_rights_embedded_in_mp4_and_side_carred_beside_mxf(delivered):
    out, note = delivered
    by = {d.profile: d for d in note.deliverables}
    web, pad = by["web-h264"], by["fr-pad-hd"]
    assert web.rights and web.rights["action"] == "embedded", web.rights
    assert web.rights["written"] and not web.rights["not_written"]
    assert web.rights["target"] == web.output
    with ExifToolSession() as et:
        got = et.read_json([Path(web.output)], ["XMP:all"])
    row = next(iter(got.values()))
    assert any("Rights" in k or "Copyright" in k for k in row), row  # read back independently
    data = Path(web.output).read_bytes()
    assert 0 < data.find(b"moov") < data.find(b"mdat")  # still faststart after the rights
    assert pad.rights and pad.rights["action"] == "sidecar", pad.rights
    sidecar = Path(pad.rights["target"])
    assert sidecar.is_file() and sidecar.parent == Path(pad.output).parent
    assert pad.rights["written"] and any("sidecar" in n for n in pad.notes)
    assert sidecar.name in Path(note.manifest).read_text()  # the sidecar is in the manifest


def bright_master(dest: Path, seconds: float = 4) -> Path:
    """Progressive 25p with white noise: energy above the AAC low-pass, as bright mixes have."""
    args = [FF(), "-hide_banner", "-loglevel", "error", "-y"]
    args += ["-f", "lavfi", "-i", f"testsrc2=size=1920x1080:rate=25:d={seconds}"]
    args += ["-f", "lavfi", "-i", f"anoisesrc=d={seconds}:c=white:a=0.2:r=48000,aformat=s32"]
    args += ["-ac", "2", "-vf", "format=yuv422p", "-c:v", "mpeg2video", "-b:v", "10M"]
    args += ["-c:a", "pcm_s24le", str(dest)]
    tools.run(args, what="making a bright master", path=dest)
    return dest


def test_aac_loudness_is_corrected_on_the_deliverable_and_rights_survive_a_rerun(tmp_path):
    """Flow path (deliver_one per deliverable, then finish_delivery): the AAC encode loses
    loudness on bright sound; the deliverable is on target by our meter; a re-run into the
    folder (which now has its ASC MHL history) still embeds the rights."""
    from pipeline.deliver.codecgain import measure_encoded

    master = bright_master(tmp_path / "BRIGHT.mov")
    out = tmp_path / "out"
    opts = Options(out_dir=out, rights_template="example", force=True)
    profile = load_profile("web-h264")
    d = deliver_one(master, profile, opts)
    assert d.status == "delivered", d.error
    codec = d.normalisation["codec_correction"]
    moved = codec["first_lufs"] - (-18.0 + codec["offset_lu"])
    assert abs(moved) > 0.1  # the codec alone misses the target...
    il, tp = measure_encoded(Path(d.output), [0, 1], "auto")
    assert abs(il - -18.0) <= 0.1 and tp <= -1.0  # ...the deliverable does not
    assert abs(d.measured["integrated_lufs"] - -18.0) <= 0.1
    note = finish_delivery(out, [d])
    assert note.manifest and (out / "delivery_note.json").is_file()
    assert (out / "ascmhl").is_dir()
    again = deliver_one(master, profile, opts)
    assert again.rights["action"] == "embedded", again.rights


def test_social_versions_have_exact_sizes(master, tmp_path):
    profiles = [load_profile("social-vertical"), load_profile("social-square")]
    note = deliver([master], profiles, Options(out_dir=tmp_path, manifest=False))
    sizes = {}
    for d in note.deliverables:
        assert d.status == "delivered", d.error
        v = _mi(d.output, full=True).video_tracks[0].to_data()
        sizes[d.profile] = (v["width"], v["height"])
    assert sizes == {"social-vertical": (1080, 1920), "social-square": (1080, 1080)}


# --- misfits: a clear message, the batch goes on, nothing under a final name ------------------


def test_misfit_masters_are_refused_clearly_and_the_batch_goes_on(master, tmp_path):
    bad = tmp_path / "bad"
    bad.mkdir()
    silent = make_master(bad / "no_audio.mov", channels=0, seconds=2)
    ntsc = make_master(bad / "ntsc.mov", rate="30000/1001", seconds=2)
    vfr = make_master(
        bad / "vfr.mp4",
        interlaced=False,
        seconds=2,
        channels=2,
        vf="select='lt(mod(n,5),2)',format=yuv420p",
        extra=["-c:v", "libx264", "-fps_mode", "vfr"],
    )
    good = master
    out = tmp_path / "out"
    profile = load_profile("fr-pad-hd")
    note = deliver([silent, ntsc, vfr, good], [profile], Options(out_dir=out, head=None))
    by = {Path(d.master).name: d for d in note.deliverables}
    assert by["no_audio.mov"].status == "error"
    assert "needs audio, the master has no audio" in by["no_audio.mov"].error
    assert "needs 25 fps, the master is 29.97 fps" in by["ntsc.mov"].error
    assert "--conform" in by["ntsc.mov"].error
    assert "variable frame rate" in by["vfr.mp4"].error
    assert by[good.name].status == "delivered"  # the batch went on
    finals = {p.name for p in out.iterdir() if p.suffix == ".mxf"}
    assert finals == {Path(by[good.name].output).name}


def test_stereo_master_on_an_eight_track_layout(tmp_path):
    stereo = make_master(tmp_path / "stereo.mov", channels=2, seconds=2)
    info = inspect_master(stereo)
    # fr-pad-hd allows silence where the master has no channel, and says so
    plan = plan_delivery(info, load_profile("fr-pad-hd"))
    assert plan.track_map[:4] == [[0], [1], [None], [None]]
    assert any("track 3" in n and "digital silence" in n for n in plan.notes)
    # a profile that does not allow it refuses, naming what it needs and what the master has
    text = Path(load_profile("fr-pad-hd").__class__.__module__ and "profiles/fr-pad-hd.yaml")
    strict = text.read_text().replace("missing_channels: silence", "missing_channels: error")
    prof = parse_profile(strict)
    with pytest.raises(DeliverError, match="needs master channels 1-4, the master has 2 channels"):
        plan_delivery(info, prof)


def test_size_that_needs_scaling_is_refused(tmp_path):
    small = tmp_path / "small.mov"
    tools.run(
        [
            FF(),
            "-loglevel",
            "error",
            "-f",
            "lavfi",
            "-i",
            "testsrc2=size=1280x720:rate=25:d=1",
            "-f",
            "lavfi",
            "-i",
            "anoisesrc=d=1:c=pink",
            "-ac",
            "2",
            "-c:a",
            "pcm_s24le",
            str(small),
        ],
        what="making",
    )
    with pytest.raises(
        DeliverError, match="needs 1920x1080 without scaling, the master is 1280x720"
    ):
        plan_delivery(inspect_master(small), load_profile("fr-pad-hd"))


def test_truncated_master_is_refused(master, tmp_path):
    cut = tmp_path / "cut.mov"
    data = master.read_bytes()
    cut.write_bytes(data[: len(data) // 2])
    d = deliver_one(cut, load_profile("web-h264"), Options(out_dir=tmp_path / "o"))
    assert d.status == "error" and d.error
    assert not list((tmp_path / "o").glob("*.mp4"))


# --- interruptions: no partial file under a final name -----------------------------------------


def test_ctrl_c_mid_encode_leaves_nothing(master, tmp_path):
    calls = []

    def interrupt(done: float) -> None:
        calls.append(done)
        if done > 0.2:
            raise KeyboardInterrupt

    out = tmp_path / "o"
    with pytest.raises(KeyboardInterrupt):
        deliver_one(master, load_profile("web-h264"), Options(out_dir=out), on_progress=interrupt)
    assert calls
    assert [p for p in out.rglob("*") if p.is_file()] == []


def test_full_disk_mid_encode_is_a_clear_error(master, tmp_path, monkeypatch):
    real = encode_mod.run_encode

    def to_full_disk(cmd, out, **kw):  # the encoder writes to a device that is always full
        return real([*cmd[:-1], "-y", "/dev/full"], out, **kw)

    monkeypatch.setattr("pipeline.deliver.run.run_encode", to_full_disk)
    d = deliver_one(master, load_profile("web-h264"), Options(out_dir=tmp_path / "o"))
    assert d.status == "error"
    assert "nothing was delivered" in d.error
    assert not [p for p in (tmp_path / "o").rglob("*") if p.is_file()]


# --- schema and small pieces -------------------------------------------------------------------


def test_encode_section_is_strict_with_file_line_and_key(tmp_path):
    text = Path("profiles/web-h264.yaml").read_text().replace("    crf: 20", "    crff: 20")
    with pytest.raises(ProfileError, match=r"encode.video.crff: unknown key \(did you mean 'crf'"):
        parse_profile(text)
    bad_gop = Path("profiles/fr-pad-hd.yaml").read_text().replace("n: 12, m: 3", "n: 13, m: 3")
    with pytest.raises(ProfileError, match="gop.n \\(13\\) must be a multiple of gop.m"):
        parse_profile(bad_gop)


def test_bundled_encodes():
    pad = load_profile("fr-pad-hd").encode
    assert pad is not None and pad.wrapper == "mxf" and len(pad.audio.tracks) == 8
    assert pad.head is not None and pad.head.duration_s == 30 and pad.head.tone_dbfs == -18
    for name in ("web-h264", "youtube", "social-vertical", "social-square", "social-4x5"):
        enc = load_profile(name).encode
        assert enc is not None and enc.faststart and enc.audio.codec == "aac"
    assert load_profile("netflix-prores-hq").encode.video.codec == "prores_ks"
    assert load_profile("dnxhd-hd-mxf").encode.video.codec == "dnxhd"


def test_small_helpers():
    from fractions import Fraction

    assert tc_minus("10:00:00:00", 30, Fraction(25)) == "09:59:30:00"
    assert tc_minus("00:00:01:00", 2, Fraction(25)) == "23:59:59:00"
    assert layout_channels("stereo") == 2 and layout_channels("8 channels") == 8
    assert layout_channels("5.1(side)") == 6
    assert parse_progress("out_time_us=2500000\n") == 2.5
    assert parse_progress("progress=continue") is None
