"""The ffmpeg command of one deliverable, built as a filter graph with ffmpeg-python.

ffmpeg-python only builds the argument list here (`compile`); `pipeline.tools` runs it. The
graph: [head: bars + tone, slate, black] then the programme (picture from the master, sound
from the normalised WAV), concatenated per output track, each track laid out from the master's
channels (digital silence where the layout says so).

Values that contain '=' are never passed inside a filter argument: ffmpeg-python escapes them
twice and some filters (pan) then refuse them; channelmap + amerge + volume=0 build every layout.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

import ffmpeg

from pipeline import tools
from pipeline.deliver.spec import Plan
from pipeline.profiles import AudioEncodeSpec, VideoEncodeSpec

PROGRESS_ARGS = ["-nostdin", "-hide_banner", "-loglevel", "error", "-progress", "pipe:1"]
PROGRESS_ARGS += ["-nostats"]


@dataclass
class Sources:
    """Where the pieces come from: the master, its normalised sound, the slate picture."""

    master: Path
    audio: Path | None  # normalised float WAV (all master channels), None: the master's sound
    slate_png: Path | None
    size: tuple[int, int]  # output picture size
    gain_db: float = 0.0  # on the programme sound: a lossy codec's loudness correction


def tc_minus(tc: str, seconds: float, fps: Fraction) -> str:
    """'10:00:00:00' minus 30 s at 25 fps -> '09:59:30:00' (non-drop-frame counting)."""
    base = round(float(fps)) or 25
    h, m, s, f = (int(x) for x in tc.replace(";", ":").split(":"))
    frames = ((h * 60 + m) * 60 + s) * base + f - round(seconds * base)
    frames %= 24 * 3600 * base
    f, total_s = frames % base, frames // base
    return f"{total_s // 3600:02d}:{total_s // 60 % 60:02d}:{total_s % 60:02d}:{f:02d}"


def head_frames(plan: Plan, fps: Fraction) -> tuple[int, int, int]:
    """Frames of bars, slate and black (whole frames, so sound and picture stay aligned)."""
    h = plan.encode.head
    assert h is not None
    return tuple(round(x * fps) for x in (h.bars_s, h.slate_s, h.black_s))  # type: ignore[return-value]


def _programme_video(plan: Plan, src: Sources, master: Any) -> Any:
    v = plan.encode.video
    assert v is not None and plan.fps is not None
    s = master["v:0"]
    if plan.conform_from is not None:
        s = s.filter("fps", fps=str(plan.fps))
    if plan.deinterlace:
        s = s.filter("bwdif", mode="send_frame", parity="auto", deint="all")
    s = _fit(s, v, plan.master.width or src.size[0], plan.master.height or src.size[1])
    return s.filter("setsar", "1").filter("format", v.pix_fmt)


def _fit(s: Any, v: VideoEncodeSpec, iw: int, ih: int) -> Any:
    """Scale, crop (with its anchor) or pad the master's picture to the profile's exact size."""
    if v.width is None or v.height is None or (iw, ih) == (v.width, v.height):
        return s
    w, h = v.width, v.height
    if v.fit == "crop":
        cw, ch = min(iw, round(ih * w / h)), min(ih, round(iw * h / w))
        cw, ch = cw - cw % 2, ch - ch % 2
        x = {"left": 0, "right": iw - cw}.get(v.anchor, (iw - cw) // 2)
        y = {"top": 0, "bottom": ih - ch}.get(v.anchor, (ih - ch) // 2)
        return s.filter("crop", cw, ch, x, y).filter("scale", w, h)
    if v.fit == "pad":
        sw, sh = (w, round(ih * w / iw)) if iw * h >= ih * w else (round(iw * h / ih), h)
        sw, sh = sw - sw % 2, sh - sh % 2
        x = {"left": 0, "right": w - sw}.get(v.anchor, (w - sw) // 2)
        y = {"top": 0, "bottom": h - sh}.get(v.anchor, (h - sh) // 2)
        return s.filter("scale", sw, sh).filter("pad", w, h, x, y, color=v.pad_colour)
    return s.filter("scale", w, h)


def _head_video(plan: Plan, src: Sources) -> Any:
    v = plan.encode.video
    assert v is not None and plan.fps is not None
    w, h = src.size
    rate = str(plan.fps)
    bars, slate, black = head_frames(plan, plan.fps)
    parts = []
    if bars:
        lav = f"smptehdbars=size={w}x{h}:rate={rate}"
        parts.append(ffmpeg.input(lav, f="lavfi").video.filter("trim", end_frame=bars))
    if slate and src.slate_png is not None:
        card = ffmpeg.input(tools.ffmpeg_input(src.slate_png), loop=1, framerate=rate)
        card = card.video.filter("trim", end_frame=slate).filter(
            "scale", w, h, out_color_matrix="bt709", out_range="tv"
        )
        parts.append(card)
    if black:
        lav = f"color=c=black:size={w}x{h}:rate={rate}"
        parts.append(ffmpeg.input(lav, f="lavfi").video.filter("trim", end_frame=black))
    parts = [p.filter("setsar", "1").filter("format", v.pix_fmt) for p in parts]
    return parts[0] if len(parts) == 1 else ffmpeg.concat(*parts, v=1, a=0)


def _head_audio(plan: Plan, a: AudioEncodeSpec, seconds: float) -> list[Any]:
    """One head stream per output track: tone during the bars on the tone tracks, else silence.

    One multichannel source split per track: ffmpeg-python merges equal nodes, so identical
    per-track sources would collapse into one.
    """
    h = plan.encode.head
    assert h is not None and plan.fps is not None
    bars_s = float(head_frames(plan, plan.fps)[0] / plan.fps)
    amp = 10 ** (h.tone_dbfs / 20)
    tone = f"{amp:.6f}*sin(2*PI*{h.tone_hz:g}*t)"
    exprs: list[str] = []
    spans: list[list[int]] = []
    for i, track in enumerate(a.tracks, start=1):
        on = bars_s > 0 and (h.tone_tracks is None or i in h.tone_tracks)
        spans.append(list(range(len(exprs), len(exprs) + track.width)))
        exprs += [tone if on else "0"] * track.width
    dur = bars_s if bars_s > 0 else seconds
    lav = f"aevalsrc={'|'.join(exprs)}:c={len(exprs)}c:s={a.sample_rate}:d={dur:.6f}"
    src = ffmpeg.input(lav, f="lavfi").audio.filter("apad", whole_dur=f"{seconds:.6f}")
    split = src.filter_multi_output("asplit", len(spans))
    return [
        split[i].filter("channelmap", map="|".join(map(str, span)), channel_layout=_layout(span))
        for i, span in enumerate(spans)
    ]


def _layout(span: list[int]) -> str:
    return {1: "mono", 2: "stereo"}.get(len(span), f"{len(span)}c")


def _programme_audio(plan: Plan, src: Sources, master: Any) -> list[Any]:
    """One stream per output track from the master's channels (as the plan maps them)."""
    a = plan.encode.audio
    assert a is not None
    if src.audio is not None:
        merged = ffmpeg.input(tools.ffmpeg_input(src.audio)).audio
    elif len(plan.master.audio_channels) == 1:
        merged = master["a:0"]
    else:
        streams = [master[f"a:{i}"] for i in range(len(plan.master.audio_channels))]
        merged = ffmpeg.filter(streams, "amerge", inputs=len(streams))
    merged = merged.filter("aresample", a.sample_rate)
    if src.gain_db:
        merged = merged.filter("volume", f"{src.gain_db:.4f}dB")
    pieces_needed = sum(len(row) for row in plan.track_map)
    split = merged.filter_multi_output("asplit", pieces_needed)
    out, k = [], 0
    for row in plan.track_map:
        pieces = []
        for ch in row:
            p = split[k].filter("channelmap", map=str(ch or 0), channel_layout="mono")
            pieces.append(p.filter("volume", 0) if ch is None else p)
            k += 1
        out.append(
            pieces[0] if len(pieces) == 1 else ffmpeg.filter(pieces, "amerge", inputs=len(pieces))
        )
    return out


def video_args(v: VideoEncodeSpec) -> dict[str, Any]:
    """Encoder options for the picture (ffmpeg names)."""
    args: dict[str, Any] = {"c:v": v.codec, "pix_fmt": v.pix_fmt}
    if v.profile:
        args["profile:v"] = v.profile
    if v.level:
        args["level:v"] = v.level
    if v.rate_mode == "crf":
        args["crf"] = f"{v.crf:g}"
    if v.bitrate_mbps is not None and v.rate_mode in ("cbr", "vbr"):
        args["b:v"] = f"{v.bitrate_mbps:g}M"
    if v.rate_mode == "cbr" and v.bitrate_mbps is not None:
        args["minrate"] = args["maxrate"] = f"{v.bitrate_mbps:g}M"
    if v.maxrate_mbps is not None:
        args["maxrate"] = f"{v.maxrate_mbps:g}M"
    if v.bufsize_mbit is not None:
        args["bufsize"] = str(round(v.bufsize_mbit * 1_000_000))
    if v.gop is not None:
        args |= {"g": v.gop.n, "bf": v.gop.m - 1}
        args["sc_threshold"] = "0" if v.codec.startswith("libx") else "1000000000"
        if v.codec.startswith("libx"):
            args["keyint_min"] = v.gop.n
    args |= _codec_extras(v)
    c = v.colour
    args |= {"color_primaries": c.primaries, "color_trc": c.transfer, "colorspace": c.matrix}
    args["color_range"] = c.range
    if v.codec_tag:
        args["tag:v"] = v.codec_tag
    return args


def _codec_extras(v: VideoEncodeSpec) -> dict[str, Any]:
    flags = []
    extra: dict[str, Any] = {}
    if v.scan == "interlaced":
        flags += ["+ildct", "+ilme"] if v.codec == "mpeg2video" else ["+ildct"]
        # field order comes from the frames (setfield); ffmpeg 9 has no -top option
        if v.codec == "libx264":
            extra["x264-params"] = "tff=1" if v.field_order == "tff" else "bff=1"
    if v.gop is not None and v.gop.closed and v.codec in ("mpeg2video", "libx264"):
        flags.append("+cgop")
    if v.codec == "mpeg2video":
        # XDCAM HD422 practice: a full VBV, intra VLC, non-linear quantiser, 10-bit DC.
        extra |= {"dc": 10, "intra_vlc": 1, "non_linear_quant": 1, "qmin": 1, "qmax": 12}
        extra["lmin"] = "1*QP2LAMBDA"
        if v.gop is not None:
            # Without strict_gop a closed GOP ends early (N=10 for -g 12); with it N is exact.
            extra["mpv_flags"] = "+strict_gop"
        if v.rate_mode == "cbr" and v.bufsize_mbit is not None:
            extra["rc_init_occupancy"] = str(round(v.bufsize_mbit * 1_000_000))
    if v.codec == "prores_ks":
        extra["vendor"] = "apl0"
    if v.codec == "libx264":
        extra["preset"] = "medium"
    if flags:
        extra["flags"] = "".join(flags)
    return extra


def audio_args(a: AudioEncodeSpec) -> dict[str, Any]:
    args: dict[str, Any] = {"c:a": a.codec, "ar": a.sample_rate}
    if a.bitrate_kbps is not None:
        args["b:a"] = f"{a.bitrate_kbps}k"
    return args


def build_audio_command(plan: Plan, src: Sources, out: Path) -> list[str]:
    """The deliverable's programme sound alone (no head, no picture), same graph and encoder,
    into a Matroska file: what a lossy codec does to the loudness is measured on it."""
    assert plan.encode.audio is not None
    master = ffmpeg.input(tools.ffmpeg_input(src.master))
    audio = _programme_audio(plan, src, master)
    opts: dict[str, Any] = {"f": "matroska", **audio_args(plan.encode.audio)}
    args = ffmpeg.output(*audio, "file:" + os.path.abspath(out), **opts).get_args()
    return [tools.ffmpeg_exe(), *PROGRESS_ARGS, "-y", *args]


def build_command(
    plan: Plan, src: Sources, out: Path, *, timecode: str | None, metadata: dict[str, str]
) -> list[str]:
    """The full ffmpeg argument list (executable first) that writes `out`."""
    enc = plan.encode
    master = ffmpeg.input(tools.ffmpeg_input(src.master))
    streams: list[Any] = []
    video = _programme_video(plan, src, master) if enc.video is not None else None
    audio = _programme_audio(plan, src, master) if enc.audio is not None else []
    if enc.head is not None and video is not None and enc.head.duration_s > 0:
        assert plan.fps is not None
        head_s = float(sum(head_frames(plan, plan.fps)) / plan.fps)
        head_a = _head_audio(plan, enc.audio, head_s) if enc.audio is not None else []
        segs = [_head_video(plan, src), *head_a, video, *audio]
        joined = ffmpeg.concat(*segs, v=1, a=len(audio)).node
        video, audio = joined[0], [joined[i + 1] for i in range(len(audio))]
    if video is not None and enc.video is not None:
        if enc.video.scan == "interlaced":
            video = video.filter("setfield", enc.video.field_order)
        # Tag the frames themselves: ffmpeg 9 encoders take colour from the frames, not -color_*.
        c = enc.video.colour
        video = video.filter(
            "setparams",
            color_primaries=c.primaries,
            color_trc=c.transfer,
            colorspace=c.matrix,
            range=c.range,
        )
        streams.append(video)
    streams.extend(audio)
    opts: dict[str, Any] = {"f": {"mxf": "mxf", "mov": "mov", "mp4": "mp4"}[enc.wrapper]}
    if enc.video is not None:
        opts |= video_args(enc.video)
        opts["r"] = str(plan.fps)
    if enc.audio is not None:
        opts |= audio_args(enc.audio)
    if timecode:
        opts["timecode"] = timecode
    if enc.faststart:
        opts["movflags"] = "+faststart"
    args = ffmpeg.output(*streams, "file:" + os.path.abspath(out), **opts).get_args()
    # -metadata repeats, which keyword arguments cannot: put them just before the output name.
    meta = [x for k, v in metadata.items() for x in ("-metadata", f"{k}={v}")]
    return [tools.ffmpeg_exe(), *PROGRESS_ARGS, *args[:-1], *meta, args[-1]]
