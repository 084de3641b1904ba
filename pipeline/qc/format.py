"""Format checks: what MediaInfo says a file is, against the delivery profile's FormatSpec.

MediaConch-style rules driven by data: every field the profile sets is compared with the
Asset (MediaInfo naming), one Finding per deviation, value and limit filled in. A field the
file does not tell us about becomes a "could not determine" finding, never a crash.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from pipeline.assets import Asset, AudioStream, VideoStream
from pipeline.profiles import AudioFormatSpec, FormatSpec, Profile, VideoFormatSpec
from pipeline.qc.findings import Finding, Severity

# Frame rates are compared with a tolerance: MediaInfo may say 29.97 where the spec says
# 30000/1001 = 29.97003, or 25.000 where it says 25.
FRAME_RATE_TOLERANCE = 0.011
# Duration in MediaInfo is rounded to the millisecond; a frame is at least 1/120 s.
DURATION_EPSILON_S = 0.0015

# Names people write in profiles for what MediaInfo calls otherwise.
_CODEC_ALIASES = {
    "h264": "avc",
    "h.264": "avc",
    "mpeg-4 avc": "avc",
    "h265": "hevc",
    "h.265": "hevc",
    "mpeg-2": "mpeg video",
    "mpeg2": "mpeg video",
    "mpeg-2 video": "mpeg video",
    "xdcam hd422": "mpeg video",
    "mp3": "mpeg audio",
    "lpcm": "pcm",
    "aac-lc": "aac",
    "apple prores": "prores",
}
# Fields that are often simply not signalled in a file (and then default per the standard):
# their absence is information, not a warning.
_OFTEN_UNSIGNALLED = {"colour_primaries", "transfer_characteristics", "matrix_coefficients"}


def _norm(text: str) -> str:
    t = " ".join(str(text).strip().lower().split())
    return _CODEC_ALIASES.get(t, t)


def _norm_op(text: str) -> str:
    """'OP-1a', 'OP1a', 'op1a' are the same operational pattern."""
    return re.sub(r"[^0-9a-z]", "", text.lower())


def _norm_tc(text: str) -> str:
    """'10:00:00;00' (drop-frame) and '10:00:00.00' compare equal to '10:00:00:00'."""
    return re.sub(r"[;.,]", ":", text.strip())


def _profile_matches(actual: str, wanted: str) -> bool:
    """MediaInfo Format_Profile 'High@L4.1' matches a wanted 'High' or 'High@L4.1'."""
    a, w = _norm(actual), _norm(wanted)
    return a == w or a.startswith(w + "@")


def _aspect_value(text: str) -> float | None:
    t = text.strip()
    m = re.fullmatch(r"(\d+(?:\.\d+)?)\s*[:/x]\s*(\d+(?:\.\d+)?)", t)
    try:
        if m:
            return float(m.group(1)) / float(m.group(2))
        return float(t)
    except (ValueError, ZeroDivisionError):
        return None


class _Checker:
    """Collects findings for one asset against one spec (one severity for deviations)."""

    def __init__(self, asset: Asset, spec: FormatSpec):
        self.asset = asset
        self.spec = spec
        self.severity = Severity(spec.severity)
        self.findings: list[Finding] = []

    def deviation(self, check: str, message: str, value: Any, limit: Any) -> None:
        self.findings.append(
            Finding(check=check, severity=self.severity, message=message, value=value, limit=limit)
        )

    def unknown(self, check: str, what: str, limit: Any, *, field: str = "") -> None:
        # Severity of "not determined": info for fields files often do not signal, a warning
        # for the rest (a human should look), never more than the spec's own severity.
        sev = Severity.INFO if field in _OFTEN_UNSIGNALLED else Severity.WARNING
        if self.severity == Severity.INFO:
            sev = Severity.INFO
        self.findings.append(
            Finding(
                check=check,
                severity=sev,
                message=f"could not determine the {what} (MediaInfo does not report it); "
                f"expected {limit}",
                value=None,
                limit=limit,
            )
        )


def check_format(asset: Asset, spec: FormatSpec) -> list[Finding]:
    """Compare what the file is with the profile's format spec; one Finding per deviation."""
    c = _Checker(asset, spec)
    if not asset.ok:
        c.findings.append(
            Finding(
                check="format.unreadable",
                severity=Severity.ERROR,
                message=f"could not read the file's format: {asset.error}",
                value=None,
                limit=None,
            )
        )
        return c.findings
    _check_container(c)
    _check_duration(c)
    _check_timecode(c)
    if spec.video is not None or spec.require_video:
        _check_video(c, spec.video)
    if spec.audio is not None:
        _check_audio(c, spec.audio)
    if spec.bitstream is not None and Path(asset.path).is_file():
        # Structure needs the file itself (a hand-built Asset has none to read).
        from pipeline.qc.bitstream import check_bitstream

        c.findings.extend(check_bitstream(asset.path, spec.bitstream, severity=spec.severity))
    return c.findings


def format_findings(asset: Asset, profile: Profile) -> list[Finding]:
    """The format checks of a whole profile: none when the profile sets no format."""
    return check_format(asset, profile.format) if profile.format is not None else []


# --- container, duration, timecode --------------------------------------------------------------


def _check_container(c: _Checker) -> None:
    spec, asset = c.spec, c.asset
    if spec.container:
        # MediaInfo calls a .mov "MPEG-4" with profile "QuickTime": accept either name.
        names = [n for n in (asset.container, asset.container_profile) if n]
        if not asset.container:
            c.unknown("format.container", "container", spec.container)
        elif not any(_norm(n) == _norm(w) for n in names for w in spec.container):
            shown = asset.container
            if asset.container_profile and asset.container_profile != asset.container:
                shown = f"{asset.container} ({asset.container_profile})"
            c.deviation(
                "format.container",
                f"container is {shown}, expected {' or '.join(spec.container)}",
                asset.container,
                spec.container,
            )
    # The operational pattern is an MXF notion; for another wrapper the container finding says it.
    if spec.operational_pattern and (asset.container or "").upper() in ("MXF", ""):
        op = asset.container_profile
        if not op:
            c.unknown("format.operational_pattern", "operational pattern", spec.operational_pattern)
        elif _norm_op(op) != _norm_op(spec.operational_pattern):
            c.deviation(
                "format.operational_pattern",
                f"operational pattern is {op}, expected {spec.operational_pattern}",
                op,
                spec.operational_pattern,
            )


def _check_duration(c: _Checker) -> None:
    spec, dur = c.spec, c.asset.duration_s
    if spec.duration_s is None and spec.max_duration_s is None:
        return
    if dur is None:
        limit = spec.duration_s if spec.duration_s is not None else spec.max_duration_s
        c.unknown("format.duration", "duration", limit)
        return
    if spec.duration_s is not None:
        tol = spec.duration_tolerance_s + DURATION_EPSILON_S
        if abs(dur - spec.duration_s) > tol:
            c.deviation(
                "format.duration",
                f"duration is {dur:.3f} s, expected {spec.duration_s:g} s "
                f"± {spec.duration_tolerance_s:g} s ({dur - spec.duration_s:+.3f} s)",
                dur,
                {"expected_s": spec.duration_s, "tolerance_s": spec.duration_tolerance_s},
            )
    if spec.max_duration_s is not None and dur > spec.max_duration_s + DURATION_EPSILON_S:
        c.deviation(
            "format.duration.max",
            f"duration is {dur:.3f} s, longer than the {spec.max_duration_s:g} s allowed",
            dur,
            spec.max_duration_s,
        )


def _check_timecode(c: _Checker) -> None:
    wanted, tc = c.spec.start_timecode, c.asset.start_timecode
    if not wanted:
        return
    if not tc:
        c.unknown("format.start_timecode", "start timecode (no timecode track)", wanted)
    elif _norm_tc(tc) != _norm_tc(wanted):
        c.deviation(
            "format.start_timecode",
            f"first frame is at {tc}, the programme must start at {wanted}",
            tc,
            wanted,
        )


# --- video ------------------------------------------------------------------------------------


def _check_video(c: _Checker, vspec: VideoFormatSpec | None) -> None:
    streams = c.asset.video
    if not streams:
        if c.spec.require_video:
            c.deviation("format.video.missing", "no video stream in the file", 0, ">= 1")
        return
    if vspec is None:
        return
    v = streams[0]  # the programme picture; extra streams (thumbnails, proxies) are not judged
    _one_of(c, "format.video.codec", "video codec", v.codec, vspec.codec)
    if vspec.profile:
        if not v.codec_profile:
            c.unknown("format.video.profile", "video codec profile", vspec.profile)
        elif not any(_profile_matches(v.codec_profile, w) for w in vspec.profile):
            c.deviation(
                "format.video.profile",
                f"video profile is {v.codec_profile}, expected {' or '.join(vspec.profile)}",
                v.codec_profile,
                vspec.profile,
            )
    _check_video_bitrate(c, v, vspec)
    _check_frame_size(c, v, vspec)
    _check_min_height(c, v, vspec)
    _check_frame_rate(c, v, vspec)
    _check_scan(c, v, vspec)
    _equal(
        c,
        "format.video.chroma_subsampling",
        "chroma subsampling",
        v.chroma_subsampling,
        vspec.chroma_subsampling,
        key=lambda s: str(s).replace(" ", ""),
    )
    _equal(c, "format.video.bit_depth", "video bit depth", v.bit_depth, vspec.bit_depth)
    for field, label in (
        ("colour_primaries", "colour primaries"),
        ("transfer_characteristics", "transfer characteristics"),
        ("matrix_coefficients", "matrix coefficients"),
    ):
        _one_of(
            c,
            f"format.video.{field}",
            label,
            getattr(v, field),
            getattr(vspec, field),
            field=field,
        )
    if vspec.display_aspect_ratio:
        dar = v.display_aspect_ratio
        want = _aspect_value(vspec.display_aspect_ratio)
        got = _aspect_value(dar) if dar else None
        if got is None and v.width and v.height:
            got = v.width / v.height  # square pixels when MediaInfo gives no DAR
            dar = f"{v.width}:{v.height}"
        if got is None or want is None:
            c.unknown(
                "format.video.aspect_ratio", "display aspect ratio", vspec.display_aspect_ratio
            )
        elif abs(got - want) > 0.01:
            c.deviation(
                "format.video.aspect_ratio",
                f"display aspect ratio is {dar}, expected {vspec.display_aspect_ratio}",
                dar,
                vspec.display_aspect_ratio,
            )


def _check_video_bitrate(c: _Checker, v: VideoStream, vspec: VideoFormatSpec) -> None:
    lo, hi = vspec.min_bitrate_mbps, vspec.max_bitrate_mbps
    if lo is None and hi is None:
        return
    limit = {"min_mbps": lo, "max_mbps": hi}
    if v.bitrate_bps is None:
        c.unknown("format.video.bitrate", "video bit rate", limit)
        return
    mbps = v.bitrate_bps / 1e6
    if (lo is not None and mbps < lo) or (hi is not None and mbps > hi):
        bounds = " to ".join(f"{x:g}" for x in (lo, hi) if x is not None)
        if lo is None:
            bounds = f"at most {hi:g}"
        elif hi is None:
            bounds = f"at least {lo:g}"
        c.deviation(
            "format.video.bitrate",
            f"video bit rate is {mbps:.2f} Mb/s, expected {bounds} Mb/s",
            round(mbps, 3),
            limit,
        )


def _check_frame_size(c: _Checker, v: VideoStream, vspec: VideoFormatSpec) -> None:
    if vspec.width is None and vspec.height is None:
        return
    want = f"{vspec.width or '*'}x{vspec.height or '*'}"
    if (vspec.width and v.width is None) or (vspec.height and v.height is None):
        c.unknown("format.video.frame_size", "frame size", want)
        return
    if (vspec.width and v.width != vspec.width) or (vspec.height and v.height != vspec.height):
        got = f"{v.width}x{v.height}"
        c.deviation("format.video.frame_size", f"frame size is {got}, expected {want}", got, want)


def _check_min_height(c: _Checker, v: VideoStream, vspec: VideoFormatSpec) -> None:
    if vspec.min_height is None:
        return
    if v.height is None:
        c.unknown("format.video.min_height", "picture height", vspec.min_height)
    elif v.height < vspec.min_height:
        c.deviation(
            "format.video.min_height",
            f"picture is {v.height} lines high, expected at least {vspec.min_height}",
            v.height,
            vspec.min_height,
        )


def _check_frame_rate(c: _Checker, v: VideoStream, vspec: VideoFormatSpec) -> None:
    rates = list(vspec.frame_rates or [])
    if vspec.frame_rate is not None and vspec.frame_rate not in rates:
        rates.insert(0, vspec.frame_rate)
    if not rates:
        return
    limit: Any = rates[0] if len(rates) == 1 else rates
    if v.frame_rate is None:
        c.unknown("format.video.frame_rate", "frame rate", limit)
        return
    if not any(abs(v.frame_rate - r) <= FRAME_RATE_TOLERANCE for r in rates):
        shown = " or ".join(f"{r:g}" for r in rates)
        c.deviation(
            "format.video.frame_rate",
            f"frame rate is {v.frame_rate:g} fps, expected {shown} fps",
            v.frame_rate,
            limit,
        )


def _check_scan(c: _Checker, v: VideoStream, vspec: VideoFormatSpec) -> None:
    scan = (v.scan_type or "").lower() or None
    if vspec.scan_type:
        if scan is None:
            c.unknown("format.video.scan_type", "scan type", vspec.scan_type)
        elif scan != vspec.scan_type:
            c.deviation(
                "format.video.scan_type",
                f"scan type is {scan}, expected {vspec.scan_type}",
                scan,
                vspec.scan_type,
            )
    # Field order means something only for interlaced pictures, and only when the file is.
    if vspec.field_order and scan == "interlaced":
        order = (v.field_order or "").lower() or None
        if order is None:
            c.unknown("format.video.field_order", "field order", vspec.field_order)
        elif order != vspec.field_order:
            c.deviation(
                "format.video.field_order",
                f"field order is {order.upper()}, expected {vspec.field_order.upper()}",
                order,
                vspec.field_order,
            )


# --- audio ------------------------------------------------------------------------------------


def _check_audio(c: _Checker, aspec: AudioFormatSpec) -> None:
    streams = c.asset.audio
    if not streams:
        c.deviation("format.audio.missing", "no audio stream in the file", 0, ">= 1")
        return
    if aspec.tracks is not None and len(streams) != aspec.tracks:
        c.deviation(
            "format.audio.tracks",
            f"{len(streams)} audio track(s), expected {aspec.tracks}",
            len(streams),
            aspec.tracks,
        )
    if aspec.channels_per_track is not None:
        _per_track(
            c,
            streams,
            "format.audio.channels_per_track",
            "channels per track",
            lambda a: a.channels,
            aspec.channels_per_track,
            ok=lambda got, want: got == want,
        )
    wanted_channels = [aspec.channels] if aspec.channels is not None else []
    wanted_channels += [n for n in aspec.channels_one_of or [] if n not in wanted_channels]
    if wanted_channels:
        limit: Any = wanted_channels[0] if len(wanted_channels) == 1 else wanted_channels
        if any(a.channels is None for a in streams):
            c.unknown("format.audio.channels", "number of audio channels", limit)
        elif c.asset.audio_channels not in wanted_channels:
            per_track = "+".join(str(a.channels) for a in streams)
            c.deviation(
                "format.audio.channels",
                f"{c.asset.audio_channels} audio channel(s) ({per_track} over "
                f"{len(streams)} track(s)), expected "
                f"{' or '.join(str(n) for n in wanted_channels)}",
                c.asset.audio_channels,
                limit,
            )
    _per_track(
        c,
        streams,
        "format.audio.codec",
        "audio codec",
        lambda a: a.codec,
        aspec.codec,
        ok=lambda got, want: any(_norm(got) == _norm(w) for w in want),
    )
    _per_track(
        c,
        streams,
        "format.audio.sample_rate",
        "audio sample rate",
        lambda a: a.sample_rate,
        aspec.sample_rate,
        ok=lambda got, want: got == want,
        unit=" Hz",
    )
    _per_track(
        c,
        streams,
        "format.audio.bit_depth",
        "audio bit depth",
        lambda a: a.bit_depth,
        aspec.bit_depth,
        ok=lambda got, want: got == want,
        unit="-bit",
    )
    if aspec.min_bitrate_kbps is not None:
        _per_track(
            c,
            streams,
            "format.audio.bitrate",
            "audio bit rate",
            lambda a: round(a.bitrate_bps / 1000, 1) if a.bitrate_bps else None,
            aspec.min_bitrate_kbps,
            ok=lambda got, want: got >= want,
            unit=" kb/s",
            relation="at least ",
        )


def _per_track(
    c: _Checker,
    streams: Sequence[AudioStream],
    check: str,
    label: str,
    get: Callable[[AudioStream], Any],
    want: Any,
    *,
    ok: Callable[[Any, Any], bool],
    unit: str = "",
    relation: str = "",
) -> None:
    """One finding for every audio track that deviates the same way (8 mono tracks at 44.1 kHz
    are one problem, not eight)."""
    if want is None or (isinstance(want, list) and not want):
        return
    shown_want = " or ".join(str(w) for w in want) if isinstance(want, list) else f"{want}"
    unknown = [i for i, a in enumerate(streams, 1) if get(a) is None]
    if unknown:
        c.unknown(check, f"{label} of track(s) {_tracks(unknown)}", want)
    bad: dict[Any, list[int]] = {}
    for i, a in enumerate(streams, 1):
        got = get(a)
        if got is not None and not ok(got, want):
            bad.setdefault(got, []).append(i)
    for got, tracks in bad.items():
        c.findings.append(
            Finding(
                check=check,
                severity=c.severity,
                message=f"{label} is {got}{unit} on track(s) {_tracks(tracks)} of "
                f"{len(streams)}, expected {relation}{shown_want}{unit}",
                value=got,
                limit=want,
                channel=tracks[0] if len(tracks) == 1 else None,
            )
        )


def _tracks(numbers: list[int]) -> str:
    return ", ".join(str(n) for n in numbers)


# --- small comparisons ------------------------------------------------------------------------


def _one_of(
    c: _Checker, check: str, label: str, got: str | None, want: list[str] | None, field: str = ""
) -> None:
    if not want:
        return
    if got is None:
        c.unknown(check, label, want, field=field)
    elif not any(_norm(got) == _norm(w) for w in want):
        c.deviation(check, f"{label} is {got}, expected {' or '.join(want)}", got, want)


def _equal(
    c: _Checker,
    check: str,
    label: str,
    got: Any,
    want: Any,
    key: Callable[[Any], Any] = lambda x: x,
) -> None:
    if want is None:
        return
    if got is None:
        c.unknown(check, label, want)
    elif key(got) != key(want):
        c.deviation(check, f"{label} is {got}, expected {want}", got, want)
