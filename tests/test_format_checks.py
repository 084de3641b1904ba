"""Format checks: hand-built Assets for the rules, real MXF/MOV files made with ffmpeg for the
whole chain (ffmpeg → MediaInfo probe → check_format against a bundled profile)."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.assets import Asset, AudioStream, Kind, VideoStream
from pipeline.profiles import AudioFormatSpec, FormatSpec, VideoFormatSpec, load_profile
from pipeline.qc.findings import Finding, Severity
from pipeline.qc.format import check_format, format_findings
from pipeline.tools import ffmpeg_exe, ffmpeg_input, run


def pad_asset(**changes) -> Asset:
    """What MediaInfo says about a correct French PAD HD file."""
    video = VideoStream(
        codec="MPEG Video",
        codec_profile="4:2:2@High",
        width=1920,
        height=1080,
        display_aspect_ratio="16:9",
        frame_rate=25.0,
        scan_type="interlaced",
        field_order="tff",
        chroma_subsampling="4:2:2",
        bit_depth=8,
        bitrate_bps=50_000_000.0,
        colour_primaries="BT.709",
        transfer_characteristics="BT.709",
        matrix_coefficients="BT.709",
    )
    audio = [AudioStream(codec="PCM", channels=1, sample_rate=48000, bit_depth=24)] * 8
    asset = Asset(
        path="/media/PAD.mxf",
        kind=Kind.VIDEO,
        container="MXF",
        container_profile="OP-1a",
        duration_s=1800.0,
        start_timecode="10:00:00:00",
        video=[video],
        audio=list(audio),
    )
    video_changes = {k[2:]: v for k, v in changes.items() if k.startswith("v_")}
    other = {k: v for k, v in changes.items() if not k.startswith("v_")}
    if video_changes:
        other["video"] = [video.model_copy(update=video_changes)]
    return asset.model_copy(update=other)


@pytest.fixture(scope="module")
def pad_spec() -> FormatSpec:
    spec = load_profile("fr-pad-hd").format
    assert spec is not None
    return spec


def checks(findings: list[Finding], *, at_least: Severity = Severity.WARNING) -> set[str]:
    order = [Severity.INFO, Severity.WARNING, Severity.ERROR]
    return {f.check for f in findings if order.index(f.severity) >= order.index(at_least)}


def by_check(findings: list[Finding], name: str) -> Finding:
    matches = [f for f in findings if f.check == name]
    assert len(matches) == 1, f"expected one {name}, got {findings}"
    return matches[0]


# --- unit: the rules --------------------------------------------------------------------------


def test_a_compliant_pad_file_has_no_findings(pad_spec: FormatSpec) -> None:
    assert check_format(pad_asset(), pad_spec) == []


def test_every_deviation_is_one_finding_with_value_and_limit(pad_spec: FormatSpec) -> None:
    wrong = pad_asset(
        container="MPEG-4",
        container_profile="Base Media",
        start_timecode="00:00:00:00",
        v_codec="AVC",
        v_codec_profile="High@L4.1",
        v_width=1280,
        v_height=720,
        v_frame_rate=29.97,
        v_scan_type="progressive",
        v_chroma_subsampling="4:2:0",
        v_bitrate_bps=8_000_000.0,
        audio=[AudioStream(codec="AAC", channels=2, sample_rate=44100, bit_depth=None)],
    )
    findings = check_format(wrong, pad_spec)
    assert checks(findings, at_least=Severity.ERROR) == {
        "format.container",
        "format.video.codec",
        "format.video.profile",
        "format.video.bitrate",
        "format.video.frame_size",
        "format.video.frame_rate",
        "format.video.scan_type",
        "format.video.chroma_subsampling",
        "format.audio.tracks",
        "format.audio.channels",
        "format.audio.codec",
        "format.audio.sample_rate",
    }
    size = by_check(findings, "format.video.frame_size")
    assert (size.value, size.limit) == ("1280x720", "1920x1080")
    rate = by_check(findings, "format.video.frame_rate")
    assert (rate.value, rate.limit) == (29.97, 25.0)
    assert "29.97 fps, expected 25 fps" in rate.message
    # the programme's start timecode is the profile's `programme:` (line-up QC), not format's
    assert "format.start_timecode" not in checks(findings, at_least=Severity.INFO)
    ch = by_check(findings, "format.audio.channels")
    assert (ch.value, ch.limit) == (2, 8)
    # an MP4 has no operational pattern: the container finding covers it, no second finding
    assert "format.operational_pattern" not in checks(findings, at_least=Severity.INFO)
    # AAC has no bit depth: "could not determine", not a crash and not an error
    depth = by_check(findings, "format.audio.bit_depth")
    assert depth.severity == Severity.WARNING and "could not determine" in depth.message


def test_frame_rate_is_compared_with_a_tolerance() -> None:
    ntsc = FormatSpec(video=VideoFormatSpec(frame_rate=30000 / 1001))
    assert check_format(pad_asset(v_frame_rate=29.97), ntsc) == []
    pal = FormatSpec(video=VideoFormatSpec(frame_rate=25))
    assert check_format(pad_asset(v_frame_rate=25.000), pal) == []
    film = FormatSpec(video=VideoFormatSpec(frame_rate=24))
    assert checks(check_format(pad_asset(v_frame_rate=23.976), film)) == {"format.video.frame_rate"}
    several = FormatSpec(video=VideoFormatSpec(frame_rates=[23.976, 24, 25]))
    assert check_format(pad_asset(v_frame_rate=23.976), several) == []
    bad = check_format(pad_asset(v_frame_rate=29.97), several)
    assert by_check(bad, "format.video.frame_rate").limit == [23.976, 24, 25]


def test_field_order_is_judged_only_for_interlaced_pictures() -> None:
    spec = FormatSpec(video=VideoFormatSpec(field_order="tff"))
    progressive = pad_asset(v_scan_type="progressive", v_field_order=None)
    assert check_format(progressive, spec) == []
    bff = check_format(pad_asset(v_field_order="bff"), spec)
    f = by_check(bff, "format.video.field_order")
    assert (f.value, f.limit) == ("bff", "tff") and "BFF, expected TFF" in f.message
    unknown = check_format(pad_asset(v_field_order=None), spec)
    assert by_check(unknown, "format.video.field_order").severity == Severity.WARNING


def test_missing_information_is_a_finding_never_a_crash(pad_spec: FormatSpec) -> None:
    blank = Asset(
        path="/media/x.mxf",
        kind=Kind.VIDEO,
        video=[VideoStream()],
        audio=[AudioStream()] * 8,
    )
    findings = check_format(blank, pad_spec)
    assert findings, "a spec with values and a file without any must say something"
    assert all(f.value is None for f in findings)
    assert all("could not determine" in f.message for f in findings)
    assert {f.severity for f in findings} <= {Severity.WARNING, Severity.INFO}
    # colour description is often simply not signalled: information only
    colour = by_check(findings, "format.video.colour_primaries")
    assert colour.severity == Severity.INFO
    assert by_check(findings, "format.video.frame_rate").severity == Severity.WARNING


def test_an_unreadable_file_is_one_error_finding(pad_spec: FormatSpec) -> None:
    broken = Asset(path="/media/bad.mxf", kind=Kind.VIDEO, error="truncated MXF")
    findings = check_format(broken, pad_spec)
    assert [(f.check, f.severity) for f in findings] == [("format.unreadable", Severity.ERROR)]
    assert "truncated MXF" in findings[0].message


def test_container_names_match_as_mediainfo_reports_them() -> None:
    qt = FormatSpec(container=["QuickTime"])
    mov = pad_asset(container="MPEG-4", container_profile="QuickTime")
    mp4 = pad_asset(container="MPEG-4", container_profile="Base Media")
    assert check_format(mov, qt) == []
    assert by_check(check_format(mp4, qt), "format.container").value == "MPEG-4"
    op = FormatSpec(operational_pattern="OP1a")  # written without the dash
    assert check_format(pad_asset(), op) == []
    atom = check_format(pad_asset(container_profile="OP-Atom"), op)
    assert by_check(atom, "format.operational_pattern").value == "OP-Atom"


def test_codec_profile_and_aliases() -> None:
    spec = FormatSpec(video=VideoFormatSpec(codec=["H.264"], profile=["High"]))
    assert check_format(pad_asset(v_codec="AVC", v_codec_profile="High@L4.1"), spec) == []
    main = check_format(pad_asset(v_codec="AVC", v_codec_profile="Main@L4"), spec)
    assert checks(main) == {"format.video.profile"}
    mp3 = FormatSpec(require_video=False, audio=AudioFormatSpec(codec=["MP3"]))
    audio = Asset(path="/x.mp3", kind=Kind.AUDIO, audio=[AudioStream(codec="MPEG Audio")])
    assert check_format(audio, mp3) == []


def test_audio_deviations_are_grouped_per_value_not_per_track(pad_spec: FormatSpec) -> None:
    audio = [AudioStream(codec="PCM", channels=1, sample_rate=44100, bit_depth=24)] * 6 + [
        AudioStream(codec="PCM", channels=1, sample_rate=48000, bit_depth=16)
    ] * 2
    findings = check_format(pad_asset(audio=audio), pad_spec)
    rate = by_check(findings, "format.audio.sample_rate")
    assert rate.value == 44100 and "track(s) 1, 2, 3, 4, 5, 6 of 8" in rate.message
    depth = by_check(findings, "format.audio.bit_depth")
    assert depth.value == 16 and "track(s) 7, 8 of 8" in depth.message


def test_channel_count_any_of() -> None:
    spec = FormatSpec(audio=AudioFormatSpec(channels_one_of=[4, 16]))
    four = pad_asset(audio=[AudioStream(codec="PCM", channels=1)] * 4)
    assert check_format(four, spec) == []
    eight = check_format(pad_asset(), spec)
    f = by_check(eight, "format.audio.channels")
    assert (f.value, f.limit) == (8, [4, 16])


def test_duration_with_tolerance_and_maximum() -> None:
    spec = FormatSpec(duration_s=30.0, duration_tolerance_s=0.04)
    assert check_format(pad_asset(duration_s=30.04), spec) == []
    long = check_format(pad_asset(duration_s=30.2), spec)
    d = by_check(long, "format.duration")
    assert d.value == 30.2 and d.limit == {"expected_s": 30.0, "tolerance_s": 0.04}
    social = FormatSpec(max_duration_s=90.0)
    assert check_format(pad_asset(duration_s=89.99), social) == []
    assert checks(check_format(pad_asset(duration_s=95.0), social)) == {"format.duration.max"}
    unknown = check_format(pad_asset(duration_s=None), spec)
    assert by_check(unknown, "format.duration").severity == Severity.WARNING


def test_timecode_drop_frame_separator_and_missing_track() -> None:
    spec = FormatSpec(start_timecode="10:00:00:00")
    assert check_format(pad_asset(start_timecode="10:00:00;00"), spec) == []
    none = check_format(pad_asset(start_timecode=None), spec)
    f = by_check(none, "format.start_timecode")
    assert f.severity == Severity.WARNING and "no timecode track" in f.message


def test_video_required_or_not() -> None:
    audio_only = Asset(
        path="/ep.m4a", kind=Kind.AUDIO, audio=[AudioStream(codec="AAC", channels=2)]
    )
    assert checks(check_format(audio_only, FormatSpec())) == {"format.video.missing"}
    assert check_format(audio_only, FormatSpec(require_video=False)) == []
    silent = pad_asset(audio=[])
    assert checks(check_format(silent, FormatSpec(audio=AudioFormatSpec()))) == {
        "format.audio.missing"
    }


def test_severity_comes_from_the_profile() -> None:
    youtube = load_profile("youtube").format
    assert youtube is not None
    findings = check_format(pad_asset(), youtube)  # a PAD master uploaded to YouTube
    assert findings and {f.severity for f in findings} == {Severity.WARNING}
    assert "format.container" in checks(findings)


def test_loudness_only_profiles_have_no_format_findings() -> None:
    odd = pad_asset(container="AVI", v_codec="DV")
    assert format_findings(odd, load_profile("ebu-r128")) == []
    assert checks(format_findings(odd, load_profile("fr-pad-hd"))) >= {"format.container"}


def test_vertical_aspect_ratio() -> None:
    social = load_profile("social-vertical").format
    assert social is not None
    vertical = pad_asset(
        container="MPEG-4",
        container_profile="Base Media",
        duration_s=30.0,
        v_codec="AVC",
        v_width=1080,
        v_height=1920,
        v_display_aspect_ratio="9:16",
        v_scan_type="progressive",
        v_chroma_subsampling="4:2:0",
        audio=[AudioStream(codec="AAC", channels=2, sample_rate=48000)],
    )
    assert check_format(vertical, social) == []
    landscape = vertical.model_copy(
        update={
            "video": [
                vertical.video[0].model_copy(
                    update={"width": 1920, "height": 1080, "display_aspect_ratio": "16:9"}
                )
            ]
        }
    )
    assert checks(check_format(landscape, social)) == {
        "format.video.frame_size",
        "format.video.aspect_ratio",
    }


# --- integration: real files, real MediaInfo --------------------------------------------------


def _ffmpeg(out: Path, args: list[str]) -> Path:
    run(
        [ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-y", *args, ffmpeg_input(out)],
        what="making a test file",
        path=out,
    )
    return out


@pytest.fixture(scope="module")
def media(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A French PAD-style XDCAM HD422 MXF and a ProRes 422 HQ QuickTime, half a second each."""
    d = tmp_path_factory.mktemp("format-media")
    pad = _ffmpeg(
        d / "PAD_10h.mxf",
        [
            "-f", "lavfi", "-i", "testsrc2=size=1920x1080:rate=25,setfield=tff",
            "-f", "lavfi", "-i", "sine=frequency=1000:sample_rate=48000",
            "-t", "0.48", "-map", "0:v", *(["-map", "1:a"] * 8),
            "-c:v", "mpeg2video", "-pix_fmt", "yuv422p", "-profile:v", "0", "-level:v", "2",
            "-b:v", "50M", "-minrate", "50M", "-maxrate", "50M", "-bufsize", "17825792",
            "-rc_init_occupancy", "17825792", "-g", "12", "-bf", "2",
            "-flags", "+ilme+ildct+cgop", "-mpv_flags", "+strict_gop",
            "-sc_threshold", "1000000000", "-alternate_scan", "1",
            "-color_primaries", "bt709", "-color_trc", "bt709", "-colorspace", "bt709",
            "-aspect", "16:9", "-c:a", "pcm_s24le", "-ar", "48000", "-ac", "1",
            "-timecode", "10:00:00:00", "-f", "mxf",
        ],
    )  # fmt: skip
    # A name starting with '-' and holding ':' must work end to end.
    hq = _ffmpeg(
        d / "-master:v1.mov",
        [
            "-f", "lavfi", "-i", "testsrc2=size=1920x1080:rate=24000/1001",
            "-f", "lavfi", "-i", "sine=sample_rate=48000",
            "-t", "0.25", "-map", "0:v", "-map", "1:a",
            "-c:v", "prores_ks", "-profile:v", "3", "-pix_fmt", "yuv422p10le",
            "-color_primaries", "bt709", "-color_trc", "bt709", "-colorspace", "bt709",
            "-c:a", "pcm_s24le", "-ac", "2", "-timecode", "01:00:00:00", "-f", "mov",
        ],
    )  # fmt: skip
    return {"pad": pad, "hq": hq}


def test_real_xdcam_mxf_passes_the_french_pad_format(media: dict[str, Path]) -> None:
    from pipeline.probe import probe_file

    asset = probe_file(media["pad"])
    assert asset.ok, asset.error
    findings = check_format(asset, load_profile("fr-pad-hd").format)
    assert checks(findings) == set(), findings
    # the same file is not an AS-11 UK DPP file: codec, bit rate, bit depth, channel count
    dpp = check_format(asset, load_profile("uk-dpp-as11-hd").format)
    assert {
        "format.video.codec",
        "format.video.profile",
        "format.video.bitrate",
        "format.video.bit_depth",
        "format.audio.channels",
    } <= checks(dpp, at_least=Severity.ERROR)


def test_real_prores_mov_against_netflix_and_pad(media: dict[str, Path]) -> None:
    from pipeline.probe import probe_file

    asset = probe_file(media["hq"])
    assert asset.ok, asset.error
    assert checks(check_format(asset, load_profile("netflix-prores-hq").format)) == set()
    pad = check_format(asset, load_profile("fr-pad-hd").format)
    errors = checks(pad, at_least=Severity.ERROR)
    assert {
        "format.container",
        "format.video.codec",
        "format.video.frame_rate",
        "format.video.scan_type",
        "format.audio.tracks",
        "format.audio.channels",
    } <= errors
    assert by_check(pad, "format.video.frame_rate").value == pytest.approx(23.976, abs=0.001)
