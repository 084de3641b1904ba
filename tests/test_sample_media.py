"""The sample media are what the manifest says: checked with MediaInfo, ffmpeg, exifread, rawpy
and pyloudnorm, independently of the generator's own bookkeeping."""

from __future__ import annotations

import hashlib
import json
import re
import struct
from pathlib import Path

import exifread
import numpy as np
import pytest
from lxml import etree
from pymediainfo import MediaInfo

import sample_media
from pipeline.tools import ffmpeg_exe, ffmpeg_input, run
from sample_media import master


def _root(samples: dict) -> Path:
    return Path(samples["root"])


def _mi(path: Path) -> MediaInfo:
    return MediaInfo.parse(str(path))


def _ff(args: list[str], path: Path, check: bool = True) -> str:
    """Run ffmpeg at info level and return its stderr (where filters print their findings)."""
    cmd = [ffmpeg_exe(), "-hide_banner", "-nostdin", "-nostats", "-loglevel", "info", *args]
    return run(cmd, what="checking", path=path, check=check).stderr


def _pcm(path: Path, channel_map: str, start: float = 0, dur: float | None = None) -> np.ndarray:
    """Decode audio to float32 numpy (frames x channels) with ffmpeg."""
    args = [ffmpeg_exe(), "-hide_banner", "-nostdin", "-loglevel", "error"]
    args += ["-ss", str(start)] + (["-t", str(dur)] if dur else [])
    args += ["-i", ffmpeg_input(path), "-filter_complex", channel_map, "-f", "f32le", "-"]
    raw = run(args, what="decoding", path=path).stdout
    return np.frombuffer(raw, "<f4")


def _files(samples: dict) -> list[dict]:
    recs = [f for c in samples["cards"].values() for f in c["files"]]
    return recs + list(samples["masters"].values()) + list(samples["misc"].values())


# --- manifest ---------------------------------------------------------------------------------


def test_manifest_lists_every_file_with_its_size(samples):
    root = _root(samples)
    assert samples["generator_version"] == sample_media.GENERATOR_VERSION
    assert set(samples["cards"]) == {"A_XDCAM", "B_A001", "C_SOUND", "D_PHOTO"}
    listed = {f["path"] for f in _files(samples)} | {
        "manifest.json",
        samples["masters"]["PROGRAMME_MASTER"]["expected_json"],
    }
    on_disk = {p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()}
    assert on_disk == listed  # nothing unlisted, nothing missing, no temp leftovers
    for rec in _files(samples):
        assert rec["size"] == (root / rec["path"]).stat().st_size, rec["path"]
    assert sum(p.stat().st_size for p in root.rglob("*") if p.is_file()) < 180e6
    saved = json.loads((root / "manifest.json").read_text())
    assert saved == samples


# --- card A: Sony XDCAM -----------------------------------------------------------------------


def test_xdcam_clips_match_manifest_and_sidecars(samples):
    root = _root(samples)
    card = samples["cards"]["A_XDCAM"]
    clips = [f for f in card["files"] if f["kind"] == "video"]
    assert [Path(c["path"]).name for c in clips] == ["C0001.MP4", "C0002.MP4", "C0003.MP4"]
    for rec in clips:
        mi = _mi(root / rec["path"])
        g, v, a = mi.general_tracks[0], mi.video_tracks[0], mi.audio_tracks[0]
        assert g.format == rec["container"] == "MPEG-4"
        assert v.format == rec["video"]["codec"] == "AVC"
        assert v.format_profile == rec["video"]["codec_profile"]
        assert (v.width, v.height) == (1920, 1080)
        assert float(v.frame_rate) == rec["video"]["frame_rate"]
        assert int(v.frame_count) == rec["video"]["frame_count"]
        assert v.scan_type.lower() == rec["video"]["scan_type"]
        assert v.color_primaries == "BT.709"
        assert (a.format, a.channel_s, a.sampling_rate) == ("AAC", 2, 48000)
        assert abs(v.duration / 1000 - rec["duration_s"]) < 0.05
        assert mi.other_tracks[0].time_code_of_first_frame == rec["start_timecode"]
        # The NonRealTimeMeta sidecar agrees with the clip.
        xml = etree.parse(str(root / rec["sidecar"]))
        ns = {"n": "urn:schemas-professionalDisc:nonRealTimeMeta:ver.2.00"}
        assert int(xml.find("n:Duration", ns).get("value")) == int(v.frame_count)
        ltc = xml.find("n:LtcChangeTable/n:LtcChange", ns).get("value")  # FFSSMMHH
        assert f"{ltc[6:8]}:{ltc[4:6]}:{ltc[2:4]}:{ltc[0:2]}" == rec["start_timecode"]
        dev = xml.find("n:Device", ns)
        assert f"{dev.get('manufacturer')} {dev.get('modelName')}" == rec["camera"]
    m4 = root / card["path"] / "PRIVATE" / "M4ROOT"
    mediapro = etree.parse(str(m4 / "MEDIAPRO.XML"))
    uris = [m.get("uri") for m in mediapro.iter("{*}Material")]
    assert uris == ["./Clip/C0001.MP4", "./Clip/C0002.MP4", "./Clip/C0003.MP4"]
    assert (m4 / "STATUS.BIN").stat().st_size > 0
    assert (m4 / "CLIP" / "._C0001.MP4").read_bytes()[:4] == b"\x00\x05\x16\x07"  # AppleDouble
    assert (root / card["path"] / ".DS_Store").read_bytes()[4:8] == b"Bud1"


# --- card B: ARRI-style ProRes ----------------------------------------------------------------


def test_prores_roll_has_timecode_reel_and_bt709(samples):
    root = _root(samples)
    card = samples["cards"]["B_A001"]
    assert len(card["files"]) == 3
    tcs = []
    for rec in card["files"]:
        assert re.fullmatch(r"A001C\d{3}_261122_R1AB\.mov", Path(rec["path"]).name)
        mi = _mi(root / rec["path"])
        g, v, a = mi.general_tracks[0], mi.video_tracks[0], mi.audio_tracks[0]
        assert (g.format, g.format_profile) == (rec["container"], rec["container_profile"])
        assert (v.format, v.format_profile, v.codec_id) == ("ProRes", "422 HQ", "apch")
        assert (v.chroma_subsampling, v.scan_type) == ("4:2:2", "Progressive")
        assert (v.color_primaries, v.transfer_characteristics, v.matrix_coefficients) == (
            "BT.709",
            "BT.709",
            "BT.709",
        )
        assert (a.format, a.channel_s, a.sampling_rate, a.bit_depth) == ("PCM", 2, 48000, 24)
        assert 4.0 <= v.duration / 1000 <= 5.0
        assert abs(v.duration / 1000 - rec["duration_s"]) < 0.05
        tc = mi.other_tracks[0]
        assert tc.time_code_of_first_frame == rec["start_timecode"]
        assert tc.title == rec["reel"] == "A001"  # reel name on the tmcd track
        tcs.append(rec["start_timecode"])
    assert tcs == sorted(tcs) and tcs[0] == "14:23:10:00"


# --- card C: sound recorder -------------------------------------------------------------------


def _bext(path: Path) -> dict:
    """Read the bext chunk straight from the RIFF structure (EBU Tech 3285)."""
    data = path.read_bytes()
    assert data[:4] == b"RIFF" and data[8:12] == b"WAVE"
    pos = 12
    while pos < len(data):
        cid, size = data[pos : pos + 4], struct.unpack("<I", data[pos + 4 : pos + 8])[0]
        if cid == b"bext":
            b = data[pos + 8 : pos + 8 + size]
            text = lambda s: s.split(b"\0")[0].decode("ascii")  # noqa: E731
            lo, hi = struct.unpack("<II", b[338:346])
            return {
                "description": text(b[0:256]),
                "originator": text(b[256:288]),
                "originator_reference": text(b[288:320]),
                "origination_date": text(b[320:330]),
                "origination_time": text(b[330:338]),
                "time_reference": lo + (hi << 32),
            }
        pos += 8 + size + (size & 1)
    raise AssertionError(f"no bext chunk in {path}")


def test_bwf_files_carry_bext_and_known_levels(samples):
    root = _root(samples)
    recs = samples["cards"]["C_SOUND"]["files"]
    assert sorted(r["audio"]["channels"] for r in recs) == [1, 1, 4]
    for rec in recs:
        path = root / rec["path"]
        mi = _mi(path)
        g, a = mi.general_tracks[0], mi.audio_tracks[0]
        assert g.format == "Wave"
        assert (a.format, a.channel_s, a.sampling_rate, a.bit_depth) == ("PCM",) + tuple(
            rec["audio"][k] for k in ("channels", "sample_rate", "bit_depth")
        )
        assert g.producer == rec["bwf_originator"] == "Sound Devices 888"
        bext = _bext(path)
        assert bext["originator"] == rec["bwf_originator"]
        assert bext["time_reference"] == rec["bwf_time_reference"]
        h, m, s, f = (int(x) for x in rec["start_timecode"].split(":"))
        assert bext["time_reference"] == ((h * 60 + m) * 60 + s) * 48000 + f * 48000 // 25
        assert bext["origination_date"] == "2026-11-22"
        assert f"sSCENE={rec['scene']}" in bext["description"]
        # Levels measured back from the 24-bit file match what the generator intended.
        n = rec["audio"]["channels"]
        pcm = _pcm(path, f"[0:a]aformat=channel_layouts={n}c").reshape(-1, n)
        for k in range(n):
            measured = 20 * np.log10(np.sqrt(np.mean(pcm[:, k].astype(float) ** 2)))
            assert abs(measured - rec["rms_dbfs"][k]) < 0.1
            assert measured > -60  # never silence, even the room tone


# --- card D: photos ---------------------------------------------------------------------------


def test_photo_card_exif_and_raws_decode(samples):
    import rawpy

    root = _root(samples)
    card = samples["cards"]["D_PHOTO"]
    jpgs = [f for f in card["files"] if f["container"] == "JPEG"]
    assert len(jpgs) == 3
    for rec in jpgs:
        with open(root / rec["path"], "rb") as fh:
            tags = exifread.process_file(fh, details=False)
        p = rec["photo"]
        assert str(tags["Image Make"]) == p["make"]
        assert str(tags["Image Model"]) == p["model"]
        assert str(tags["EXIF LensModel"]) == p["lens"]
        assert int(str(tags["EXIF ISOSpeedRatings"])) == p["iso"]
        assert str(tags["EXIF ExposureTime"]) == p["shutter"]
        fn = tags["EXIF FNumber"].values[0]
        assert fn.num / fn.den == pytest.approx(p["aperture"])
        assert float(tags["EXIF FocalLength"].values[0]) == p["focal_length_mm"]
        assert str(tags["EXIF DateTimeOriginal"]) == p["captured"].replace("-", ":").replace(
            "T", " "
        )
    raws = [f for f in card["files"] if f["photo"]["raw"]]
    assert sorted(Path(f["path"]).name for f in raws) == card["raws_present"]
    assert "IMG_0006.DNG" in card["raws_present"]  # the one we write ourselves
    for rec in raws:
        with rawpy.imread(str(root / rec["path"])) as raw:
            rgb = raw.postprocess()
        assert rgb.ndim == 3 and rgb.shape[2] == 3 and rgb.mean() > 10
        if rec["source"] == "generated":
            # LibRaw develops the full sensor area (it does not apply DefaultCrop).
            assert rgb.shape[:2] == (rec["photo"]["height"], rec["photo"]["width"])
            with open(root / rec["path"], "rb") as fh:
                tags = exifread.process_file(fh, details=False)
            assert str(tags["Image Make"]) == rec["photo"]["make"]
            assert int(str(tags["EXIF ISOSpeedRatings"])) == rec["photo"]["iso"]
        else:
            shared = sample_media.cards.SHARED_RAW / Path(rec["source"]).name
            assert (root / rec["path"]).read_bytes() == shared.read_bytes()


# --- masters ----------------------------------------------------------------------------------


def test_programme_master_format_is_xdcam_hd422_op1a_interlaced(samples):
    root = _root(samples)
    rec = samples["masters"]["PROGRAMME_MASTER"]
    props = rec["properties"]
    path = root / rec["path"]
    mi = _mi(path)
    g, v = mi.general_tracks[0], mi.video_tracks[0]
    assert (g.format, g.format_profile) == (props["container"], props["container_profile"])
    assert (g.format, g.format_profile) == ("MXF", "OP-1a")
    assert (v.format, v.format_profile) == ("MPEG Video", "4:2:2@High")
    assert (v.scan_type, v.scan_order) == ("Interlaced", "TFF")
    assert v.format_settings__gop == "M=3, N=12"
    assert (v.width, v.height, float(v.frame_rate)) == (1920, 1080, 25.0)
    assert int(v.frame_count) == props["video"]["frame_count"] == 1500
    assert v.bit_rate == props["video"]["bitrate_bps"]
    assert g.duration / 1000 == pytest.approx(props["duration_s"], abs=0.05)
    assert len(mi.audio_tracks) == 8
    for a in mi.audio_tracks:
        assert (a.format, a.channel_s, a.sampling_rate, a.bit_depth) == ("PCM", 1, 48000, 24)
    assert {t.time_code_of_first_frame for t in mi.other_tracks} == {props["start_timecode"]}
    # The decoder sees interlaced, top-field-first frames (not just a container flag).
    info = _ff(["-i", ffmpeg_input(path), "-frames:v", "5", "-vf", "showinfo", "-f", "null", "-"],
               path)  # fmt: skip
    fields = re.findall(r" i:(\w)", info)
    assert len(fields) >= 5 and set(fields) == {"T"}


def test_programme_loudness_matches_independent_meter(samples):
    import pyloudnorm

    root = _root(samples)
    rec = samples["masters"]["PROGRAMME_MASTER"]
    lo = rec["loudness"]
    path = root / rec["path"]
    a, b = lo["programme_window_s"]
    stereo = _pcm(path, "[0:a:0][0:a:1]amerge=inputs=2", a, b - a).reshape(-1, 2)
    meter = pyloudnorm.Meter(48000)  # BS.1770-4, a different implementation from ffmpeg's
    measured = meter.integrated_loudness(stereo.astype(np.float64))
    assert measured == pytest.approx(lo["programme_integrated_lufs"], abs=0.3)
    assert lo["programme_integrated_lufs"] == pytest.approx(master.PROGRAMME_TARGET_LUFS, abs=0.3)
    assert lo["programme_integrated_lufs"] > -22.0  # French PAD (−23 ±1) fails by design
    assert -10 < lo["programme_true_peak_dbtp"] < -1
    whole = _pcm(path, "[0:a:0][0:a:1]amerge=inputs=2").reshape(-1, 2)
    assert meter.integrated_loudness(whole.astype(np.float64)) == pytest.approx(
        lo["file_integrated_lufs"], abs=0.3
    )


def _detect(path: Path, start: float, dur: float, vf: str) -> str:
    args = ["-ss", str(start), "-t", str(dur), "-i", ffmpeg_input(path), "-an", "-vf", vf]
    return _ff([*args, "-f", "null", "-"], path)


def test_programme_picture_faults_are_where_documented(samples):
    root = _root(samples)
    rec = samples["masters"]["PROGRAMME_MASTER"]
    path = root / rec["path"]
    exp = rec["expected"]
    assert json.loads((root / rec["expected_json"]).read_text()) == exp
    # Mid-programme black 42-43 s: found with the profile's default thresholds.
    out = _detect(path, 40, 5, "blackdetect=d=0.2:pix_th=0.10:pic_th=0.98")
    starts = [40 + float(x) for x in re.findall(r"black_start:([\d.]+)", out)]
    ends = [40 + float(x) for x in re.findall(r"black_end:([\d.]+)", out)]
    assert len(starts) == 1 and starts[0] == pytest.approx(42.0, abs=0.1)
    assert ends[0] == pytest.approx(43.0, abs=0.1)
    # Night scene 22-28 s: dark, but not black with the same thresholds.
    out = _detect(path, 22, 6, "blackdetect=d=0.2:pix_th=0.10:pic_th=0.98,signalstats,"
                  "metadata=print:key=lavfi.signalstats.YAVG")  # fmt: skip
    assert "black_start" not in out
    yavg = [float(x) for x in re.findall(r"YAVG=([\d.]+)", out)]
    lo, hi = exp["night_scene"]["mean_luma_8bit_range"]
    assert len(yavg) > 100 and lo <= float(np.mean(yavg)) <= hi
    # Freeze 35-38 s (moving picture held), not in the moving scene around it.
    out = _detect(path, 33, 6, "freezedetect=n=-60dB:d=2")
    fs = [33 + float(x) for x in re.findall(r"freeze_start: ([\d.]+)", out)]
    fe = [33 + float(x) for x in re.findall(r"freeze_end: ([\d.]+)", out)]
    assert len(fs) == 1 and fs[0] == pytest.approx(35.0, abs=0.1)
    assert fe[0] == pytest.approx(38.0, abs=0.1)
    # The still card 28-32 s is a freeze too (the QC decides it is only a warning).
    out = _detect(path, 27, 6, "freezedetect=n=-60dB:d=2")
    assert [27 + float(x) for x in re.findall(r"freeze_start: ([\d.]+)", out)] == [
        pytest.approx(28.0, abs=0.1)
    ]


def test_programme_sound_faults_are_where_documented(samples):
    root = _root(samples)
    rec = samples["masters"]["PROGRAMME_MASTER"]
    path = root / rec["path"]

    def silences(stream: int, start: float, dur: float) -> list[tuple[float, float]]:
        args = ["-ss", str(start), "-t", str(dur), "-i", ffmpeg_input(path), "-filter_complex",
                f"[0:a:{stream}]silencedetect=n=-60dB:d=2", "-f", "null", "-"]  # fmt: skip
        out = _ff(args, path)
        s = [start + float(x) for x in re.findall(r"silence_start: ([\d.]+)", out)]
        e = [start + float(x) for x in re.findall(r"silence_end: ([\d.]+)", out)]
        return list(zip(s, e, strict=False))

    for ch in range(4):  # dropout 46-49 on mix and M&E
        (found,) = silences(ch, 44, 8)
        assert found == (pytest.approx(46.0, abs=0.05), pytest.approx(49.0, abs=0.05))
    assert silences(0, 20, 10) == []  # room tone 24-28 is not silence
    room = _pcm(path, "[0:a:0]anull", 24.5, 3)
    assert -58 < 20 * np.log10(np.sqrt(np.mean(room.astype(float) ** 2))) < -52
    for ch in range(4, 8):  # tracks 5-8: digital silence end to end
        assert not np.any(_pcm(path, f"[0:a:{ch}]anull"))
    tone = _pcm(path, "[0:a:0]anull", 2, 5)
    assert 20 * np.log10(np.max(np.abs(tone))) == pytest.approx(-18.0, abs=0.1)


def test_web_master(samples):
    root = _root(samples)
    rec = samples["masters"]["WEB_MASTER"]
    mi = _mi(root / rec["path"])
    v, a = mi.video_tracks[0], mi.audio_tracks[0]
    assert mi.general_tracks[0].format == rec["properties"]["container"] == "MPEG-4"
    assert (v.format, v.format_profile, v.width, v.height) == ("AVC", "High@L4.1", 1920, 1080)
    assert (a.format, a.channel_s) == ("AAC", 2)
    assert rec["loudness"]["integrated_lufs"] == pytest.approx(master.WEB_TARGET_LUFS, abs=1.0)


# --- misc -------------------------------------------------------------------------------------


def test_misc_bad_inputs_are_bad_and_the_dash_clip_is_good(samples):
    root = _root(samples)
    misc = samples["misc"]
    assert not _mi(root / misc["not_a_video"]["path"]).video_tracks
    assert (root / misc["empty"]["path"]).stat().st_size == 0
    trunc = root / misc["truncated"]["path"]
    assert trunc.stat().st_size == int(misc["truncated"]["original_size"] * 0.4)
    res = _ff(["-i", ffmpeg_input(trunc), "-f", "null", "-"], trunc, check=False)
    assert "moov atom not found" in res
    dash = root / misc["leading_dash"]["path"]
    assert dash.name.startswith("-")
    mi = _mi(dash)
    assert mi.video_tracks[0].format == "AVC"
    assert mi.general_tracks[0].duration / 1000 == pytest.approx(2.0, abs=0.1)


# --- generator behaviour ----------------------------------------------------------------------


def _hashes(root: Path) -> dict[str, str]:
    return {
        p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


@pytest.mark.parametrize("card", ["C_SOUND", "D_PHOTO"])
def test_cards_are_byte_identical_across_runs(tmp_path, card):
    a = sample_media.build_card(card, tmp_path / "a")
    b = sample_media.build_card(card, tmp_path / "b")
    assert a == b
    ha, hb = _hashes(tmp_path / "a"), _hashes(tmp_path / "b")
    assert ha == hb and len(ha) >= 3


def test_small_clip_encoding_is_deterministic(tmp_path):
    from sample_media.misc import _small_mov

    _small_mov(tmp_path / "-a.mov", 1.0)
    _small_mov(tmp_path / "-b.mov", 1.0)
    assert (tmp_path / "-a.mov").read_bytes() == (tmp_path / "-b.mov").read_bytes()


def test_ensure_reuses_current_and_rebuilds_stale(tmp_path, monkeypatch):
    out = tmp_path / "out"
    out.mkdir()
    calls = []
    monkeypatch.setattr(sample_media, "generate", lambda o: calls.append(o) or {"new": True})
    (out / "manifest.json").write_text(
        json.dumps({"generator_version": sample_media.GENERATOR_VERSION, "x": 1})
    )
    assert sample_media.ensure(out)["x"] == 1 and calls == []
    assert sample_media.ensure(out, force=True) == {"new": True}
    (out / "manifest.json").write_text(json.dumps({"generator_version": "0"}))
    assert sample_media.ensure(out) == {"new": True}
    (out / "manifest.json").write_text("{truncated")
    assert sample_media.ensure(out) == {"new": True} and len(calls) == 3


def test_interrupted_generation_leaves_previous_output_intact(tmp_path, monkeypatch):
    out = tmp_path / "out"
    out.mkdir()
    (out / "manifest.json").write_text('{"generator_version": "old"}')

    def boom(build, final, progress):
        (build / "half-written.bin").write_bytes(b"x")
        raise KeyboardInterrupt

    monkeypatch.setattr(sample_media, "_build_into", boom)
    with pytest.raises(KeyboardInterrupt):
        sample_media.generate(out)
    assert json.loads((out / "manifest.json").read_text()) == {"generator_version": "old"}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]  # build folder cleaned up


def test_unknown_card_is_a_clear_error(tmp_path):
    with pytest.raises(ValueError, match="unknown card 'Z'"):
        sample_media.build_card("Z", tmp_path)
