"""Probe on real media made with ffmpeg here, on the real RAWs, and on bad input."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from pipeline.assets import Kind
from pipeline.probe import probe_file, probe_paths, read_bext, samples_to_timecode
from pipeline.tools import ffmpeg_exe, run


def _ff(*args: str) -> None:
    run([ffmpeg_exe(), "-hide_banner", "-v", "error", "-y", *args], what="making test media")


@pytest.fixture(scope="module")
def media(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("probe-media")
    _ff(
        "-f", "lavfi", "-i", "testsrc2=s=640x360:r=25:d=2",
        "-f", "lavfi", "-i", "sine=f=1000:r=48000:d=2",
        "-ac", "2", "-c:v", "prores_ks", "-profile:v", "3", "-c:a", "pcm_s24le",
        "-timecode", "14:23:10:00", "-metadata:s:v:0", "reel_name=A001",
        "-color_primaries", "bt709", "-color_trc", "bt709", "-colorspace", "bt709",
        str(d / "A001C001.mov"),
    )  # fmt: skip
    _ff(
        "-f", "lavfi", "-i", "testsrc2=s=1920x1080:r=25:d=1",
        "-f", "lavfi", "-i", "sine=r=48000:d=1",
        "-vf", "setfield=tff", "-flags", "+ilme+ildct", "-c:v", "mpeg2video",
        "-pix_fmt", "yuv422p", "-b:v", "50M", "-c:a", "pcm_s24le",
        "-timecode", "10:00:00:00", "-f", "mxf", str(d / "MASTER.mxf"),
    )  # fmt: skip
    # BWF: 14:00:00:00 at 48 kHz = 2 419 200 000 samples since midnight
    _ff(
        "-f", "lavfi", "-i", "sine=r=48000:d=1", "-ac", "4", "-c:a", "pcm_s24le",
        "-write_bext", "1", "-metadata", "originator=Sound Devices 888",
        "-metadata", "time_reference=2419200000", "-metadata", "description=sSCENE=12 sTAKE=3",
        str(d / "T001.WAV"),
    )  # fmt: skip
    (d / "not_a_video.mov").write_text("this is a text file, not a movie\n")
    (d / "empty.mov").write_bytes(b"")
    data = (d / "A001C001.mov").read_bytes()
    (d / "truncated.mov").write_bytes(data[: len(data) * 2 // 5])  # moov is at the end: lost
    (d / "-leading-dash.mov").write_bytes(data)
    (d / "C0001M01.XML").write_text("<x/>")
    return d


def test_prores_clip_reports_codec_timecode_reel_and_colour(media):
    a = probe_file(media / "A001C001.mov")
    assert a.error is None and a.kind == Kind.VIDEO
    assert a.container == "MPEG-4" and a.container_profile == "QuickTime"
    v = a.video[0]
    assert (v.codec, v.codec_profile, v.codec_id) == ("ProRes", "422 HQ", "apch")
    assert (v.width, v.height, v.frame_rate, v.scan_type) == (640, 360, 25.0, "progressive")
    assert v.chroma_subsampling == "4:2:2"
    assert v.display_aspect_ratio == "16:9"
    assert a.start_timecode == "14:23:10:00"
    assert a.reel == "A001"
    assert a.duration_s == pytest.approx(2.0, abs=0.05)
    assert a.audio[0].channels == 2 and a.audio[0].sample_rate == 48000
    assert a.audio[0].bit_depth == 24


def test_mxf_master_interlaced_tff_op1a(media):
    a = probe_file(media / "MASTER.mxf")
    assert a.error is None
    assert (a.container, a.container_profile) == ("MXF", "OP-1a")
    v = a.video[0]
    assert (v.codec, v.codec_profile) == ("MPEG Video", "4:2:2@High")
    assert (v.scan_type, v.field_order) == ("interlaced", "tff")
    assert a.start_timecode == "10:00:00:00"


def test_bwf_bext_time_reference_becomes_timecode(media):
    a = probe_file(media / "T001.WAV")
    assert a.kind == Kind.AUDIO and a.container == "Wave"
    assert a.audio_channels == 4
    assert a.bwf_originator == "Sound Devices 888"
    assert a.bwf_time_reference == 2_419_200_000
    assert a.start_timecode == "14:00:00:00"
    bext = read_bext(media / "T001.WAV")
    assert bext and bext["description"] == "sSCENE=12 sTAKE=3"


def test_samples_to_timecode():
    assert samples_to_timecode(48000 * 3600 * 10 + 24000, 48000, fps=25) == "10:00:00:12"


@pytest.mark.parametrize(
    ("name", "words"),
    [
        ("not_a_video.mov", "not a media file"),
        ("empty.mov", "empty file"),
        ("truncated.mov", "truncated"),
    ],
)
def test_bad_files_are_per_file_errors(media, name, words):
    a = probe_file(media / name)
    assert a.error and words in a.error
    assert a.video == [] and a.audio == []


def test_leading_dash_name_is_read_as_a_file(media):
    a = probe_file(media / "-leading-dash.mov")
    assert a.error is None and a.video[0].codec == "ProRes"


def test_folder_walk_classifies_and_keeps_going(media):
    assets = probe_paths([media])
    by_name = {Path(a.path).name: a for a in assets}
    assert set(by_name) >= {"A001C001.mov", "MASTER.mxf", "T001.WAV", "empty.mov"}
    assert by_name["C0001M01.XML"].kind == Kind.SIDECAR
    assert sum(1 for a in assets if a.error) == 3


def test_cli_json_reports_errors_and_exit_code(media):
    out = subprocess.run(
        [sys.executable, "-m", "pipeline.cli", "probe", "--json", str(media)],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert out.returncode == 1, out.stderr
    assert "Traceback" not in out.stderr
    data = json.loads(out.stdout)
    errors = {Path(d["path"]).name for d in data if d["error"]}
    assert errors == {"not_a_video.mov", "empty.mov", "truncated.mov"}
    assert "3 of" in out.stderr


def test_cli_table_on_missing_path_is_a_clear_error(tmp_path):
    out = subprocess.run(
        [sys.executable, "-m", "pipeline.cli", "probe", str(tmp_path / "nope")],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert out.returncode == 1
    assert "no such file or folder" in out.stderr and "Traceback" not in out.stderr


def test_real_raws_read_camera_and_exposure(shared_raw):
    a = probe_file(shared_raw / "canon_eos_6d.dng")
    assert a.error is None and a.kind == Kind.PHOTO and a.photo and a.photo.raw
    assert a.camera == "Canon EOS 6D"
    p = a.photo
    assert (p.iso, p.shutter, p.aperture, p.focal_length_mm) == (1000, "1/60", 5.6, 65.0)
    assert p.lens == "EF24-105mm f/4L IS USM"
    assert p.captured == "2019-06-06T07:29:51"
    assert (p.width, p.height) == (1224, 816)
    crw = probe_file(shared_raw / "RAW_CANON_D30_SRGB.CRW")
    assert crw.error is None and (crw.photo.width, crw.photo.height) == (2176, 1448)


def test_unsupported_raw_is_noted_not_fatal(shared_raw):
    a = probe_file(shared_raw / "metadata_only" / "exiftool_CanonRaw.cr2")
    assert a.error is None
    assert a.camera == "Canon EOS 350D DIGITAL"
    assert any("not supported by LibRaw" in n for n in a.notes)


def test_probe_flags_ai_generated_and_composited_media(tmp_path):
    """IPTC Digital Source Type read back from the file itself and from an XMP sidecar."""
    from pipeline.tools import exiftool_exe

    base = "http://cv.iptc.org/newscodes/digitalsourcetype/"
    _ff("-f", "lavfi", "-i", "testsrc2=s=320x240", "-frames:v", "1", str(tmp_path / "gen.jpg"))
    _ff("-f", "lavfi", "-i", "testsrc2=s=320x240", "-frames:v", "1", str(tmp_path / "comp.jpg"))
    _ff("-f", "lavfi", "-i", "testsrc2=s=320x240", "-frames:v", "1", str(tmp_path / "cam.jpg"))
    run(
        [exiftool_exe(), "-q", "-overwrite_original",
         f"-XMP-iptcExt:DigitalSourceType={base}trainedAlgorithmicMedia",
         str(tmp_path / "gen.jpg")],
        what="tagging",
    )  # fmt: skip
    run(
        [exiftool_exe(), "-q", "-o", str(tmp_path / "comp.xmp"),
         f"-XMP-iptcExt:DigitalSourceType={base}compositeWithTrainedAlgorithmicMedia",
         str(tmp_path / "comp.jpg")],
        what="writing a sidecar",
    )  # fmt: skip
    by_name = {Path(a.path).name: a for a in probe_paths([tmp_path])}
    assert by_name["gen.jpg"].ai.ai_generated and not by_name["gen.jpg"].ai.ai_composited
    assert any("AI-generated" in f for f in by_name["gen.jpg"].ai.flags)
    assert by_name["comp.jpg"].ai.ai_composited
    assert by_name["cam.jpg"].ai.flags == [] and not by_name["cam.jpg"].ai.ai_generated


def test_exiftool_fills_what_exifread_cannot_read(shared_raw):
    """Canon CRW (CIFF) and CR3 (ISO BMFF) are opaque to exifread; the batch ExifTool read
    that probe already makes for provenance fills camera and exposure."""
    crw = shared_raw / "RAW_CANON_D30_SRGB.CRW"
    assert probe_file(crw).camera is None  # exifread alone
    by_name = {
        Path(a.path).name: a
        for a in probe_paths([crw, shared_raw / "metadata_only" / "Canon-R6-pruned.CR3"])
    }
    d30 = by_name["RAW_CANON_D30_SRGB.CRW"]
    assert d30.camera == "Canon EOS D30"
    assert (d30.photo.iso, d30.photo.aperture, d30.photo.captured) == (
        100, 11.3, "2002-11-24T15:11:22",
    )  # fmt: skip
    r6 = by_name["Canon-R6-pruned.CR3"]
    assert r6.camera == "Canon EOS R6" and r6.photo.lens == "RF70-200mm F2.8 L IS USM"
