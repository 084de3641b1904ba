"""Bitstream and structure QC: GOP (N, M, open/closed), bit-rate mode, timecode, A/V lengths,
AFD and AS-11 descriptive metadata, against the profile's `format.bitstream`.

Two sources, each for what it reads well:
- MediaInfo (pymediainfo) for what the headers declare: the GOP it saw at the start of the file,
  BitRate_Mode, each timecode the file carries (MXF material and source packages, the SMPTE 12M
  timecode of the MPEG-2 GOP header, a QuickTime tmcd track), track durations, AFD, AS-11.
- For MPEG-2 video (XDCAM), a scan of every picture and GOP header of the elementary stream,
  which ffmpeg copies out without decoding (`-c copy -f mpeg2video`). MediaInfo only samples the
  file's start and computes an MXF track's last timecode from its start and duration, so a
  timecode break or one odd GOP in the middle is invisible to it; the GOP headers carry every
  GOP's own timecode, closed flag and picture count, so the scan finds them, and says where.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pipeline.errors import RushlineError
from pipeline.profiles import BitstreamSpec
from pipeline.qc.findings import Finding, Severity

# Picture (0x00) and GOP (0xB8) start codes; MPEG-2 cannot emulate a start code elsewhere.
_HEADER_RE = re.compile(rb"\x00\x00\x01[\x00\xb8]")
_CHUNK = 1 << 20
DURATION_EPSILON_S = 0.0015  # MediaInfo durations are rounded to the millisecond


@dataclass
class Gop:
    """One GOP as its header and pictures say (decode order)."""

    start_frame: int  # index of its first picture in the stream
    closed: bool
    broken_link: bool
    timecode: str | None  # SMPTE 12M time_code of the GOP header, HH:MM:SS:FF (';' drop frame)
    frames: int = 0
    max_b_run: int = 0  # longest run of B pictures: M = max_b_run + 1
    _b_run: int = 0

    @property
    def m(self) -> int:
        return self.max_b_run + 1


@dataclass
class Mpeg2Scan:
    gops: list[Gop] = field(default_factory=list)
    pictures: int = 0


def _gop_timecode(b: bytes) -> tuple[str, bool, bool]:
    """time_code (25 bits), closed_gop, broken_link from the 4 bytes after a GOP start code."""
    v = int.from_bytes(b[:4], "big")
    drop = bool(v >> 31 & 1)
    hh, mm, ss, ff = v >> 26 & 0x1F, v >> 20 & 0x3F, v >> 13 & 0x3F, v >> 7 & 0x3F
    tc = f"{hh:02d}:{mm:02d}:{ss:02d}{';' if drop else ':'}{ff:02d}"
    return tc, bool(v >> 6 & 1), bool(v >> 5 & 1)


def parse_mpeg2(chunks: Iterable[bytes]) -> Mpeg2Scan:
    """Every GOP of an MPEG-2 video elementary stream, from its picture and GOP headers."""
    scan = Mpeg2Scan()
    carry = b""
    for chunk in chunks:
        data = carry + chunk
        last = len(data) - 8  # a header needs 4 bytes after its start code
        for m in _HEADER_RE.finditer(data, 0, max(last + 4, 0)):
            _header(scan, data[m.start() + 3], data[m.start() + 4 : m.start() + 8])
        carry = data[max(last + 1, 0) :]  # a start code beginning here is read next time
    for m in _HEADER_RE.finditer(carry):  # headers in the stream's last bytes
        body = carry[m.start() + 4 : m.start() + 8]
        if len(body) >= (4 if carry[m.start() + 3] == 0xB8 else 2):
            _header(scan, carry[m.start() + 3], body)
    for g in scan.gops:
        g.max_b_run = max(g.max_b_run, g._b_run)
    return scan


def _header(scan: Mpeg2Scan, code: int, body: bytes) -> None:
    if code == 0xB8:
        tc, closed, broken = _gop_timecode(body)
        scan.gops.append(Gop(scan.pictures, closed, broken, tc))
        return
    kind = body[1] >> 3 & 0x07  # picture_coding_type: 1 I, 2 P, 3 B
    if not scan.gops:  # pictures before any GOP header: an implicit GOP without timecode
        scan.gops.append(Gop(0, False, False, None))
    g = scan.gops[-1]
    g.frames += 1
    scan.pictures += 1
    if kind == 3:
        g._b_run += 1
    else:
        g.max_b_run, g._b_run = max(g.max_b_run, g._b_run), 0


def scan_mpeg2(path: str | Path) -> Mpeg2Scan:
    """Copy the first video stream out with ffmpeg (no decode) and parse its headers."""
    from pipeline import tools

    cmd = [tools.ffmpeg_exe(), "-hide_banner", "-nostdin", "-loglevel", "error"]
    cmd += ["-i", tools.ffmpeg_input(path), "-map", "0:v:0", "-c", "copy", "-f", "mpeg2video"]
    proc = tools.spawn([*cmd, "pipe:1"], what="reading the MPEG-2 headers of", stderr=False)
    try:
        scan = parse_mpeg2(_read(proc))
    finally:
        code = tools.end(proc, timeout=30)
    if code != 0:
        from pipeline.errors import ToolError

        raise ToolError(
            f"ffmpeg could not copy the video stream of {path} (exit {code})",
            cmd=cmd,
            returncode=code,
            stderr="",
            path=path,
        )
    return scan


def _read(proc: Any) -> Iterator[bytes]:
    while chunk := proc.stdout.read(_CHUNK):
        yield chunk


# --- MediaInfo: what the headers declare ------------------------------------------------------


@dataclass
class Structure:
    """What MediaInfo says about the structure of a file."""

    video_format: str | None = None
    gop_text: str | None = None  # "M=3, N=12"
    gop_open_closed: str | None = None  # "Open" / "Closed"
    bitrate_mode: str | None = None  # "CBR" / "VBR"
    fps: float | None = None
    timecodes: list[tuple[str, str]] = field(default_factory=list)  # (where, first frame)
    video_duration_s: float | None = None
    audio_durations_s: list[float | None] = field(default_factory=list)
    afd: int | None = None
    afd_text: str | None = None
    as11: dict[str, dict[str, str]] = field(default_factory=dict)  # framework -> field -> value


def _ms(value: Any) -> float | None:
    try:
        return float(str(value).split()[0]) / 1000.0
    except (ValueError, IndexError):
        return None


def read_structure(path: str | Path) -> Structure:
    """The structure fields of one file, as MediaInfo reads them."""
    from pymediainfo import MediaInfo

    mi = MediaInfo.parse(str(path))
    s = Structure()
    if mi.video_tracks:
        v = mi.video_tracks[0]
        s.video_format = v.format
        s.gop_text = getattr(v, "format_settings__gop", None)
        s.gop_open_closed = getattr(v, "gop__open_closed", None)
        s.bitrate_mode = v.bit_rate_mode
        s.fps = _fps(v)
        s.video_duration_s = _ms(v.duration)
        if v.time_code_of_first_frame:
            where = "video stream"
            if "group of pictures" in str(getattr(v, "time_code_source", "")).lower():
                where = "SMPTE 12M in the MPEG-2 GOP header"
            s.timecodes.append((where, v.time_code_of_first_frame))
        afd = getattr(v, "activeformatdescription", None) or getattr(
            v, "active_format_description", None
        )
        if afd not in (None, ""):
            s.afd = _int(afd)
            s.afd_text = str(afd)
    s.audio_durations_s = [_ms(a.duration) for a in mi.audio_tracks]
    for i, t in enumerate(mi.other_tracks, 1):
        if (t.type or "") == "Time code" and t.time_code_of_first_frame:
            where = t.time_code_settings or t.format or f"timecode track {i}"
            s.timecodes.append((str(where), str(t.time_code_of_first_frame)))
    s.as11 = as11_metadata(mi.tracks)
    return s


def _int(value: Any) -> int | None:
    m = re.match(r"\s*(\d+)", str(value))
    return int(m.group(1)) if m else None


def _fps(track: Any) -> float | None:
    try:
        return float(track.frame_rate)
    except (TypeError, ValueError):
        return None


_STANDARD_KEYS = {"track_type", "type", "format", "count", "stream_identifier", "track_id"}


def as11_metadata(tracks: Iterable[Any]) -> dict[str, dict[str, str]]:
    """AS-11 descriptive metadata (Core, UK DPP, segmentation) where MediaInfo exposes it:
    tracks whose type or format names AS-11 or DPP, each as field -> value."""
    out: dict[str, dict[str, str]] = {}
    for t in tracks:
        label = " ".join(str(x) for x in (getattr(t, "type", None), getattr(t, "format", None)))
        if not re.search(r"as[-_ ]?11|dpp", label, re.IGNORECASE):
            continue
        data = t.to_data() if hasattr(t, "to_data") else dict(vars(t))
        fields = {
            k: str(v)
            for k, v in data.items()
            if k not in _STANDARD_KEYS and not k.startswith("other_") and v not in (None, "")
        }
        out[label.strip() or "AS-11"] = fields
    return out


# --- timecode arithmetic ----------------------------------------------------------------------


def tc_to_frames(tc: str, fps: float) -> int | None:
    """Frame count of HH:MM:SS:FF at a nominal rate (drop-frame when written with ';')."""
    m = re.fullmatch(r"(\d{2}):(\d{2}):(\d{2})([:;.,])(\d{2})", tc.strip())
    if not m:
        return None
    hh, mm, ss, sep, ff = int(m[1]), int(m[2]), int(m[3]), m[4], int(m[5])
    base = round(fps)
    frames = ((hh * 60 + mm) * 60 + ss) * base + ff
    if sep in ";," and base in (30, 60):  # SMPTE 12M drop frame: 2 (4) numbers a minute
        drop = base // 15
        minutes = hh * 60 + mm
        frames -= drop * (minutes - minutes // 10)
    return frames


def frames_to_tc(frames: int, fps: float, *, drop: bool = False) -> str:
    base = round(fps)
    if drop and base in (30, 60):
        d = base // 15
        per_10min = base * 600 - d * 9
        tens, rest = divmod(frames, per_10min)
        extra = d * 9 * tens + (d * ((rest - d) // (base * 60 - d)) if rest > d else 0)
        frames += extra
    ff, secs = frames % base, frames // base
    sep = ";" if drop and base in (30, 60) else ":"
    return f"{secs // 3600 % 24:02d}:{secs // 60 % 60:02d}:{secs % 60:02d}{sep}{ff:02d}"


# --- checks -----------------------------------------------------------------------------------


class _Out:
    def __init__(self, severity: Severity, fps: float | None) -> None:
        self.severity = severity
        self.fps = fps or None
        self.findings: list[Finding] = []

    def add(self, check: str, message: str, value: Any, limit: Any, **where: Any) -> None:
        self.findings.append(
            Finding(
                check=check,
                severity=where.pop("severity", self.severity),
                message=message,
                value=value,
                limit=limit,
                **where,
            )
        )

    def at(self, frame: int) -> str:
        return f"frame {frame} ({frame / self.fps:.2f} s)" if self.fps else f"frame {frame}"


def check_bitstream(
    path: str | Path,
    spec: BitstreamSpec,
    *,
    severity: str = "error",
    structure: Structure | None = None,
    scan: Mpeg2Scan | None = None,
) -> list[Finding]:
    """The structure of one file against the profile; one Finding per problem, saying where.

    `structure` and `scan` are read from the file when not given (tests hand them in)."""
    s = structure if structure is not None else read_structure(path)
    out = _Out(Severity(spec.severity or severity), s.fps)
    mpeg2 = (s.video_format or "").lower() == "mpeg video"
    if scan is None and mpeg2 and (spec.gop is not None or spec.timecode):
        try:
            scan = scan_mpeg2(path)
        except RushlineError as exc:  # damaged stream: say so, the other checks go on
            out.add("format.bitstream", f"could not scan the MPEG-2 headers: {exc}", None, None)
    if spec.gop is not None:
        _check_gop(out, spec, s, scan)
    if spec.bitrate_mode is not None:
        _check_rate_mode(out, spec.bitrate_mode, s)
    if spec.timecode:
        _check_timecode_agreement(out, s, scan)
        if scan is not None:
            _check_timecode_breaks(out, scan)
    if spec.av_duration_frames is not None:
        _check_av_durations(out, spec.av_duration_frames, s)
    if spec.afd_values is not None:
        _check_afd(out, spec.afd_values, s)
    for framework, fields in s.as11.items():
        shown = "; ".join(f"{k}: {v}" for k, v in list(fields.items())[:12])
        out.add("format.as11", f"{framework}: {shown}", fields, None, severity=Severity.INFO)
    return out.findings


def _mediainfo_gop(text: str | None) -> tuple[int | None, int | None]:
    """N and M from MediaInfo's Format_Settings_GOP ("M=3, N=12"; "N=1" for intra)."""
    n = re.search(r"N=(\d+)", text or "")
    m = re.search(r"M=(\d+)", text or "")
    return (int(n[1]) if n else None, int(m[1]) if m else (1 if n else None))


def _check_gop(out: _Out, spec: BitstreamSpec, s: Structure, scan: Mpeg2Scan | None) -> None:
    want = spec.gop
    assert want is not None
    limit = {"n": want.n, "m": want.m, "closed": want.closed}
    if scan is not None and scan.gops:
        _gop_from_scan(out, want.n, want.m, want.closed, scan)
        return
    n, m = _mediainfo_gop(s.gop_text)
    if n is None:
        out.add(
            "format.gop",
            f"could not determine the GOP structure (MediaInfo reports none); expected "
            f"N={want.n} M={want.m} {'closed' if want.closed else 'open or closed'}",
            None,
            limit,
            severity=Severity.WARNING,
        )
        return
    if n != want.n:
        out.add("format.gop.n", f"GOP length N={n}, expected N={want.n}", n, want.n)
    if m is not None and m != want.m:
        out.add("format.gop.m", f"GOP anchor distance M={m}, expected M={want.m}", m, want.m)
    if want.closed and (s.gop_open_closed or "").lower() == "open":
        out.add("format.gop.closed", "open GOPs, expected closed GOPs", "open", "closed")


def _gop_from_scan(out: _Out, n: int, m: int, closed: bool, scan: Mpeg2Scan) -> None:
    """GOP findings are about the whole file: no time range (the message names the first)."""
    gops = scan.gops
    # The last GOP may be cut short by the end of the programme; it may not be longer.
    wrong_n = [
        g for i, g in enumerate(gops) if g.frames > n or (g.frames < n and i < len(gops) - 1)
    ]
    if wrong_n:
        sizes = [k for k, _ in Counter(g.frames for g in wrong_n).most_common()]  # usual first
        out.add(
            "format.gop.n",
            f"GOP length N={'/'.join(map(str, sizes))} in {len(wrong_n)} of {len(gops)} GOPs, "
            f"expected N={n} (first at {out.at(wrong_n[0].start_frame)})",
            sizes[0] if len(sizes) == 1 else sizes,
            n,
        )
    wrong_m = [g for g in gops if g.m > m or (g.m < m and g.frames >= n)]
    if wrong_m:
        ms = sorted({g.m for g in wrong_m})
        out.add(
            "format.gop.m",
            f"GOP anchor distance M={'/'.join(map(str, ms))} in {len(wrong_m)} of {len(gops)} "
            f"GOPs, expected M={m} (first at {out.at(wrong_m[0].start_frame)})",
            ms[0] if len(ms) == 1 else ms,
            m,
        )
    # A GOP without B pictures cannot reference the one before it: closed in effect.
    open_gops = [g for g in gops if not g.closed and g.max_b_run > 0]
    if closed and open_gops:
        out.add(
            "format.gop.closed",
            f"open GOPs: {len(open_gops)} of {len(gops)} GOPs are open (closed_gop=0), "
            f"expected closed GOPs (first at {out.at(open_gops[0].start_frame)})",
            len(open_gops),
            0,
        )


def _secs(out: _Out, frame: int) -> float | None:
    return round(frame / out.fps, 3) if out.fps else None


def _check_rate_mode(out: _Out, want: str, s: Structure) -> None:
    got = (s.bitrate_mode or "").upper() or None
    if got is None:
        out.add(
            "format.bitrate_mode",
            f"could not determine the video bit-rate mode; expected {want}",
            None,
            want,
            severity=Severity.WARNING,
        )
    elif got != want:
        names = {"CBR": "constant", "VBR": "variable"}
        out.add(
            "format.bitrate_mode",
            f"video bit rate is {names.get(got, got)} ({got}), expected "
            f"{names.get(want, want)} ({want})",
            got,
            want,
        )


def _check_timecode_agreement(out: _Out, s: Structure, scan: Mpeg2Scan | None) -> None:
    sources = list(s.timecodes)
    if scan is not None and scan.gops and scan.gops[0].timecode:
        if not any(w.startswith("SMPTE 12M") for w, _ in sources):
            sources.append(("SMPTE 12M in the MPEG-2 GOP header", scan.gops[0].timecode))
    fps = s.fps or 25.0
    values = {tc_to_frames(tc, fps) for _, tc in sources}
    if len(values - {None}) > 1:
        listed = "; ".join(f"{where} {tc}" for where, tc in sources)
        out.add(
            "format.timecode.mismatch",
            f"the file's timecodes do not agree on the first frame: {listed}",
            dict(sources),
            "one timecode",
        )


def _check_timecode_breaks(out: _Out, scan: Mpeg2Scan) -> None:
    fps = out.fps or 25.0
    breaks = []
    for prev, g in zip(scan.gops, scan.gops[1:], strict=False):
        a = tc_to_frames(prev.timecode or "", fps)
        b = tc_to_frames(g.timecode or "", fps)
        if a is not None and b is not None and b != a + prev.frames:
            breaks.append((prev, g, a + prev.frames))
    if not breaks:
        return
    prev, g, expected = breaks[0]
    drop = ";" in (prev.timecode or "")
    more = f"; {len(breaks) - 1} more break(s) after it" if len(breaks) > 1 else ""
    out.add(
        "format.timecode.break",
        f"timecode break at {out.at(g.start_frame)}: {frames_to_tc(expected - 1, fps, drop=drop)}"
        f" is followed by {g.timecode}, expected {frames_to_tc(expected, fps, drop=drop)}{more}",
        g.timecode,
        frames_to_tc(expected, fps, drop=drop),
        start_s=_secs(out, g.start_frame),
    )


def _check_av_durations(out: _Out, frames: float, s: Structure) -> None:
    v = s.video_duration_s
    if v is None or not s.fps:
        return
    tol = frames / s.fps + DURATION_EPSILON_S
    bad = [
        (i, a) for i, a in enumerate(s.audio_durations_s, 1) if a is not None and abs(a - v) > tol
    ]
    if bad:
        tracks = ", ".join(str(i) for i, _ in bad)
        worst = max(bad, key=lambda x: abs(x[1] - v))[1]
        out.add(
            "format.av_duration",
            f"audio track(s) {tracks} last {worst:.3f} s, the video {v:.3f} s "
            f"({(worst - v) * s.fps:+.1f} frames); they must match within {frames:g} frame(s)",
            worst,
            {"video_s": v, "tolerance_frames": frames},
        )


def _check_afd(out: _Out, allowed: list[int], s: Structure) -> None:
    if s.afd is None:
        out.add(
            "format.afd",
            f"no AFD (Active Format Description) in the file; expected one of "
            f"{', '.join(map(str, allowed))}",
            None,
            allowed,
        )
    elif s.afd not in allowed:
        out.add(
            "format.afd",
            f"AFD is {s.afd_text}, expected one of {', '.join(map(str, allowed))}",
            s.afd,
            allowed,
        )
