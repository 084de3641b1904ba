"""Bitstream and structure QC: GOP N/M/closed, bit-rate mode, timecode continuity and agreement,
audio/video lengths, AFD and AS-11 metadata. Real MPEG-2 MXF files made with ffmpeg for the
done-when cases (N=15 open GOPs; a timecode break), small hand-made records for the rules."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.profiles import BitstreamSpec, load_profile
from pipeline.qc.bitstream import (
    Structure,
    check_bitstream,
    frames_to_tc,
    parse_mpeg2,
    scan_mpeg2,
    tc_to_frames,
)
from pipeline.qc.findings import Finding, Severity
from pipeline.qc.format import check_format
from pipeline.tools import ffmpeg_exe, ffmpeg_input, run

XDCAM = BitstreamSpec.model_validate(
    {"gop": {"n": 12, "m": 3, "closed": True}, "bitrate_mode": "CBR"}
)
SRC = "testsrc2=size=352x288:rate=25,setfield=tff"
MPEG2 = [
    "-c:v", "mpeg2video", "-pix_fmt", "yuv422p", "-profile:v", "0", "-level:v", "2",
    "-b:v", "8M", "-minrate", "8M", "-maxrate", "8M", "-bufsize", "4M",
    "-rc_init_occupancy", "4M", "-sc_threshold", "1000000000", "-bf", "2",
]  # fmt: skip


def ff(*args: str | Path) -> None:
    run(
        [ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-y", *map(str, args)],
        what="making a test file",
    )


def by_check(findings: list[Finding], name: str) -> Finding:
    hits = [f for f in findings if f.check == name]
    assert len(hits) == 1, f"expected one {name}: {findings}"
    return hits[0]


@pytest.fixture(scope="module")
def media(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("bitstream")
    audio = ["-f", "lavfi", "-i", "sine=sample_rate=48000"]
    pcm = ["-c:a", "pcm_s24le", "-ar", "48000", "-ac", "1"]
    good, open15 = d / "xdcam_closed.mxf", d / "-open gop:15.mxf"
    closed = ["-g", "12", "-flags", "+cgop+ilme+ildct", "-mpv_flags", "+strict_gop"]
    for out, gop in ((good, closed), (open15, ["-g", "15", "-flags", "+ilme+ildct"])):
        ff("-f", "lavfi", "-i", SRC, *audio, "-t", "3.84", "-map", "0:v", "-map", "1:a",
           *MPEG2, *gop, *pcm, "-timecode", "10:00:00:00", "-f", "mxf",
           ffmpeg_input(out))  # fmt: skip
    # Two runs of 48 frames whose GOP headers say 10:00:00:00 and 10:00:30:00, spliced as one
    # stream into an MXF whose own timecode track is continuous: a break only the video shows.
    parts = []
    for name, tc in (("a.m2v", "10:00:00:00"), ("b.m2v", "10:00:30:00")):
        ff("-f", "lavfi", "-i", SRC, "-t", "1.92", *MPEG2, *closed, "-timecode", tc,
           "-f", "mpeg2video", d / name)  # fmt: skip
        parts.append(str(d / name))
    broken = d / "tc_break.mxf"
    ff("-f", "mpegvideo", "-framerate", "25", "-i", "concat:" + "|".join(parts), *audio,
       "-t", "3.84", "-map", "0:v", "-map", "1:a", "-c:v", "copy", *pcm,
       "-timecode", "10:00:00:00", "-f", "mxf", ffmpeg_input(broken))  # fmt: skip
    return {"good": good, "open15": open15, "break": broken}


# --- done when: real masters ------------------------------------------------------------------


def test_n15_open_gop_master_fails_the_pad_profile_naming_n_and_open(media) -> None:
    from pipeline.probe import probe_file

    findings = check_format(probe_file(media["open15"]), load_profile("fr-pad-hd").format)
    n = by_check(findings, "format.gop.n")
    assert n.severity == Severity.ERROR and n.limit == 12
    assert "N=15" in n.message and "expected N=12" in n.message
    closed = by_check(findings, "format.gop.closed")
    assert closed.severity == Severity.ERROR and "open GOPs" in closed.message
    assert "format.timecode.break" not in {f.check for f in findings}


def test_closed_n12_cbr_master_has_no_structure_findings(media) -> None:
    findings = check_bitstream(media["good"], XDCAM)
    assert findings == []
    scan = scan_mpeg2(media["good"])
    assert [g.frames for g in scan.gops] == [12] * 8  # 96 frames, every GOP N=12
    assert {g.m for g in scan.gops} == {3} and all(g.closed for g in scan.gops)


def test_timecode_break_inside_the_file_is_found_and_located(media) -> None:
    findings = check_bitstream(media["break"], XDCAM)
    brk = by_check(findings, "format.timecode.break")
    assert brk.severity == Severity.ERROR
    assert brk.start_s == pytest.approx(1.92)
    assert "frame 48 (1.92 s)" in brk.message
    assert "10:00:01:22 is followed by 10:00:30:00, expected 10:00:01:23" in brk.message
    assert brk.value == "10:00:30:00" and brk.limit == "10:00:01:23"
    # the splice itself is clean: N=12 closed GOPs on both sides
    assert {f.check for f in findings} == {"format.timecode.break"}


def test_n15_open_gop_and_the_scan_agree_with_mediainfo(media) -> None:
    scan = scan_mpeg2(media["open15"])
    assert {g.frames for g in scan.gops[1:-1]} == {15}
    assert not any(g.closed for g in scan.gops[1:])


# --- rules on hand-made records ---------------------------------------------------------------


def _gop_header(tc: tuple[int, int, int, int], closed: bool) -> bytes:
    hh, mm, ss, ff_ = tc
    v = hh << 26 | mm << 20 | 1 << 19 | ss << 13 | ff_ << 7 | int(closed) << 6
    return b"\x00\x00\x01\xb8" + v.to_bytes(4, "big")


def _picture(kind: int) -> bytes:
    return b"\x00\x00\x01\x00" + bytes([0, kind << 3]) + b"\xff\xff" + b"\x00\x00\x01\x01junk"


def test_header_parser_survives_any_chunking() -> None:
    stream = b""
    for i in range(3):
        stream += _gop_header((10, 0, 0, i * 6), closed=i != 1)
        stream += b"".join(_picture(k) for k in (1, 3, 3, 2, 3, 3))
    whole = parse_mpeg2([stream])
    assert [(g.frames, g.m, g.closed, g.timecode) for g in whole.gops] == [
        (6, 3, True, "10:00:00:00"),
        (6, 3, False, "10:00:00:06"),
        (6, 3, True, "10:00:00:12"),
    ]
    for size in (1, 3, 5, 7, 11):
        chunks = [stream[i : i + size] for i in range(0, len(stream), size)]
        got = parse_mpeg2(chunks)
        assert [(g.frames, g.m, g.closed, g.timecode) for g in got.gops] == [
            (g.frames, g.m, g.closed, g.timecode) for g in whole.gops
        ], size


def test_drop_frame_timecode_arithmetic() -> None:
    assert tc_to_frames("10:00:00:00", 25) == 900_000
    assert tc_to_frames("00:01:00;02", 29.97) == 1800  # ;00 and ;01 do not exist
    assert frames_to_tc(1800, 29.97, drop=True) == "00:01:00;02"
    for n in (0, 1799, 1800, 17982, 17983, 107892):
        assert tc_to_frames(frames_to_tc(n, 29.97, drop=True), 29.97) == n


def test_timecodes_that_disagree_are_listed() -> None:
    s = Structure(
        video_format="VC-3",
        fps=25.0,
        timecodes=[("Material Package", "10:00:00:00"), ("Source Package", "09:59:30:00")],
    )
    f = by_check(
        check_bitstream("x.mxf", BitstreamSpec(), structure=s, scan=None),
        "format.timecode.mismatch",
    )
    assert "Material Package 10:00:00:00" in f.message and "Source Package 09:59:30:00" in f.message


def test_rate_mode_av_length_afd_and_as11() -> None:
    spec = BitstreamSpec(bitrate_mode="CBR", afd_values=[10], av_duration_frames=1)
    s = Structure(
        video_format="AVC",
        fps=25.0,
        bitrate_mode="VBR",
        video_duration_s=10.0,
        audio_durations_s=[10.0, 10.03, 10.2],
        afd=None,
        as11={"DMS-AS-11 Core": {"programmetitle": "Lighthouse", "shimname": "UK DPP HD"}},
    )
    findings = check_bitstream("x.mxf", spec, structure=s, scan=None)
    assert (
        "variable (VBR), expected constant (CBR)"
        in by_check(findings, "format.bitrate_mode").message
    )
    av = by_check(findings, "format.av_duration")
    assert "audio track(s) 3" in av.message and av.value == 10.2  # 10.03 s is within a frame
    assert "no AFD" in by_check(findings, "format.afd").message
    as11 = by_check(findings, "format.as11")
    assert as11.severity == Severity.INFO and "programmetitle: Lighthouse" in as11.message
    wrong = check_bitstream("x.mxf", spec, structure=Structure(afd=9, afd_text="9", fps=25.0))
    assert by_check(wrong, "format.afd").value == 9


def test_gop_from_mediainfo_when_there_is_no_scan() -> None:
    s = Structure(video_format="AVC", fps=25.0, gop_text="M=3, N=15", gop_open_closed="Open")
    findings = check_bitstream(
        "x.mp4", XDCAM.model_copy(update={"bitrate_mode": None}), structure=s
    )
    assert {f.check for f in findings} == {"format.gop.n", "format.gop.closed"}
