"""Dailies: one small proxy per camera clip, named so editorial can relink to the original.

Each proxy carries the clip's source timecode twice: burnt into the picture (drawtext counts
frames from the start timecode, drop-frame when the source is) and as the file's timecode
track (`-timecode`: a tmcd track in MOV and MP4), with the reel name in the metadata. An
optional show LUT (`.cube`, ffmpeg's lut3d) is applied before the burn-in, so the text stays
white. Outputs are written to a hidden temporary name beside the final one, fsynced, then
linked (or, with force, renamed) into place: never a half-written proxy under a final name.

Naming: `<clip base name>.mp4` (H.264) or `.mov` (ProRes Proxy), flat in the output folder.
Only clips whose base names collide (C0001.MP4 on two cards) keep their folders, relative to
the deepest folder they share, so each still has its camera name and none is overwritten.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import tempfile
import time
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, Protocol

import ffmpeg
from pydantic import BaseModel, Field

from pipeline import tools
from pipeline.assets import Asset, Kind
from pipeline.deliver.burnin import SourceTimecode, burn_in, font_file, source_timecode
from pipeline.deliver.encode import run_encode
from pipeline.errors import RushlineError, UserInputError
from pipeline.fsutil import place
from pipeline.names import nfc

Codec = Literal["h264", "prores-proxy"]
EXTENSION: dict[str, str] = {"h264": ".mp4", "prores-proxy": ".mov"}
# Camera RAW video that ffmpeg cannot decode: the vendor's software makes these dailies.
_CAMERA_RAW = {".r3d", ".braw", ".crm", ".ari"}


@dataclass(frozen=True)
class DailiesOptions:
    """What the proxies look like and where they go."""

    out_dir: Path
    codec: Codec = "h264"
    height: int = 540
    lut: Path | None = None
    force: bool = False
    burn_in: bool = True


class Proxy(BaseModel):
    """One clip's proxy: made, skipped (it exists) or failed (with the reason)."""

    source: str
    output: str
    status: Literal["made", "skipped", "failed"]
    error: str | None = None
    start_timecode: str | None = None
    drop_frame: bool = False
    reel: str | None = None
    frames: int | None = None  # source frame count, when MediaInfo states it
    elapsed_s: float | None = None
    notes: list[str] = Field(default_factory=list)


class Observer(Protocol):
    """Progress of a batch (the CLI draws bars from it; the core never prints)."""

    def start(self, clip: Path, seconds: float | None) -> None: ...
    def advance(self, seconds: float) -> None: ...
    def done(self, proxy: Proxy) -> None: ...


# --- which clips, and what their proxies are called -------------------------------------------


def _has_video(path: Path) -> bool:
    try:
        from pymediainfo import MediaInfo

        return bool(MediaInfo.parse(str(path)).video_tracks)
    except Exception:  # unreadable as media: not a clip
        return False


def is_clip(path: Path) -> bool:
    """A camera clip by extension (video), else by MediaInfo finding a video track.

    Hidden files (`._C0001.MP4`, `.DS_Store`, our own `.part` temps), sidecars, XML, audio and
    photos are not clips.
    """
    from pipeline.probe import classify

    if nfc(path.name).startswith("."):
        return False
    kind = classify(path)
    if kind is Kind.VIDEO:
        return True
    return kind is Kind.OTHER and path.is_file() and _has_video(path)


def find_clips(paths: Iterable[str | os.PathLike[str]]) -> list[Path]:
    """Clips to make dailies of, in a stable order: files as given (a bad one gets its own
    error later), folders searched recursively. A folder without clips is a bad argument."""
    from pipeline.qc.inputs import gather

    return gather(paths, is_clip, "camera clips")


def proxy_names(clips: list[Path], out_dir: Path, codec: Codec) -> dict[Path, Path]:
    """Each clip's proxy path: `<out>/<stem><ext>`; colliding stems keep their folders."""
    ext = EXTENSION[codec]
    groups: dict[str, list[Path]] = defaultdict(list)
    for c in clips:
        groups[nfc(c.stem).casefold()].append(c)
    names: dict[Path, Path] = {}
    for group in groups.values():
        if len(group) == 1:
            names[group[0]] = out_dir / (nfc(group[0].stem) + ext)
            continue
        parents = [os.path.abspath(c.parent) for c in group]
        common = os.path.commonpath(parents)
        rels = [
            Path(os.path.relpath(p, common)) / nfc(c.stem)
            for p, c in zip(parents, group, strict=True)
        ]
        keys = [nfc(str(r)).casefold() for r in rels]
        for c, rel, key in zip(group, rels, keys, strict=True):
            if keys.count(key) > 1:  # same folder, same stem: A001C001.mov and A001C001.mxf
                rel = rel.with_name(rel.name + c.suffix.lower().replace(".", "_"))
            names[c] = out_dir / os.path.normpath(str(rel) + ext)
    return names


def check_options(paths: Iterable[str | os.PathLike[str]], opts: DailiesOptions) -> None:
    """Refuse bad arguments before any work starts (exit 2 through the CLI)."""
    if opts.codec not in EXTENSION:
        raise UserInputError(f"unknown codec {opts.codec!r}; choose h264 or prores-proxy")
    if opts.height < 64 or opts.height > 4320 or opts.height % 2:
        raise UserInputError(f"--height {opts.height}: give an even number of lines, 64 to 4320")
    if opts.lut is not None:
        _check_lut(opts.lut)
    if opts.burn_in:
        font_file()
    out = Path(os.path.realpath(opts.out_dir))
    for raw in paths:
        src = Path(os.path.realpath(raw))
        # Never into a folder given as a source (a card), nor beside a clip given by name.
        inside = src in out.parents if src.is_dir() else False
        if out == (src if src.is_dir() else src.parent) or inside:
            raise UserInputError(
                f"--out {opts.out_dir} is inside the source {raw}; never write into a card",
                hint="choose an output folder outside the cards",
            )


def _check_lut(lut: Path) -> None:
    if not lut.is_file():
        raise UserInputError(f"{lut}: LUT file not found", path=lut)
    if lut.suffix.lower() != ".cube":
        raise UserInputError(f"{lut}: not a .cube LUT", path=lut, hint="give a .cube 3D LUT")
    with open(lut, "rb") as fh:
        head = fh.read(1 << 16).decode("utf-8", "replace")
    if "LUT_3D_SIZE" not in head:
        raise UserInputError(f"{lut}: no LUT_3D_SIZE line; this is not a 3D .cube LUT", path=lut)


# --- the ffmpeg command ----------------------------------------------------------------------


def _picture(src: Any, asset: Asset, opts: DailiesOptions) -> Any:
    """Deinterlace if needed, scale to the height with the display aspect (square pixels)."""
    v = asset.video[0]
    s = src["v:0"]
    if v.scan_type == "interlaced":
        s = s.filter("bwdif", mode="send_frame", parity="auto", deint="all")
    # `dar` keeps anamorphic clips at their display shape; even width for 4:2:0.
    s = s.filter(
        "scale",
        w="trunc(oh*dar/2)*2",
        h=opts.height,
        out_color_matrix="bt709",
        out_range="tv",
    ).filter("setsar", "1")
    if opts.lut is not None:
        s = s.filter("lut3d", file=os.path.abspath(opts.lut))
    return s


def _encoder_args(asset: Asset, opts: DailiesOptions, tc: SourceTimecode) -> dict[str, object]:
    tags = {"color_primaries": "bt709", "color_trc": "bt709", "colorspace": "bt709"}
    args: dict[str, object] = {**tags, "color_range": "tv", "timecode": tc.value}
    args["fps_mode"] = "passthrough"  # one proxy frame per source frame, for relinking
    if opts.codec == "h264":
        args |= {"c:v": "libx264", "preset": "fast", "crf": 23, "profile:v": "high"}
        args |= {"c:a": "aac", "b:a": "128k", "f": "mp4"}
        args["movflags"] = "+faststart+use_metadata_tags"
        if asset.reel:
            args["metadata"] = f"reel_name={asset.reel}"
    else:
        deep = any((a.bit_depth or 16) > 16 for a in asset.audio)
        args |= {"c:v": "prores_ks", "profile:v": 0, "vendor": "apl0", "f": "mov"}
        args["c:a"] = "pcm_s24le" if deep else "pcm_s16le"
        if asset.reel:  # movenc writes it into the tmcd track (MediaInfo: its Title)
            args["metadata:s:v:0"] = f"reel_name={asset.reel}"
    return args


def proxy_command(
    asset: Asset, tmp: Path, opts: DailiesOptions, tc: SourceTimecode, text_dir: Path
) -> list[str]:
    """The ffmpeg argument list for one proxy, built with ffmpeg-python (compiled, not run)."""
    src = ffmpeg.input(tools.ffmpeg_input(asset.path))
    v = _picture(src, asset, opts)
    if opts.burn_in:
        name = Path(asset.path).name
        v = burn_in(v, tc=tc, name=name, reel=asset.reel, height=opts.height, text_dir=text_dir)
    v = v.filter("format", "yuv420p" if opts.codec == "h264" else "yuv422p10le")
    streams = [v, src["a?"]] if asset.audio else [v]
    out = ffmpeg.output(*streams, tools.ffmpeg_input(tmp), **_encoder_args(asset, opts, tc))
    out = out.global_args("-nostdin", "-hide_banner", "-loglevel", "error", "-nostats")
    out = out.global_args("-progress", "pipe:1")
    return list(out.compile(cmd=tools.ffmpeg_exe()))


# --- making proxies --------------------------------------------------------------------------


def _why_not(asset: Asset) -> str | None:
    """Why this file cannot give a proxy, before ffmpeg is started; None when it can."""
    if not asset.ok:
        return asset.error
    if not asset.video:
        return "no video stream in this file; dailies are made from camera clips"
    ext = Path(asset.path).suffix.lower()
    if ext in _CAMERA_RAW:
        return (
            f"ffmpeg cannot decode {ext} camera RAW; make its dailies in the camera maker's "
            "software, or transcode it to ProRes first"
        )
    return None


def make_proxy(
    clip: Path, dest: Path, opts: DailiesOptions, observer: Observer | None = None
) -> Proxy:
    """One clip's proxy. A clip that cannot be made is a `failed` Proxy, never an exception
    (Ctrl-C and a missing tool still go up)."""
    from pipeline.probe import probe_file

    proxy = Proxy(source=str(clip), output=str(dest), status="failed")
    if os.path.lexists(dest) and not opts.force:
        proxy.status = "skipped"
        proxy.notes.append("the proxy exists already; --force replaces it")
        return proxy
    asset = probe_file(clip)
    proxy.reel = asset.reel
    proxy.error = _why_not(asset)
    if proxy.error:
        return proxy
    try:
        tc = source_timecode(asset.start_timecode, asset.video[0].frame_rate)
        proxy.start_timecode, proxy.drop_frame = tc.value, tc.drop_frame
        proxy.frames = asset.video[0].frame_count
        if not tc.from_source:
            proxy.notes.append("the clip has no timecode; counted from 00:00:00:00")
        if observer is not None:
            observer.start(clip, asset.duration_s)
        proxy.elapsed_s = _encode(asset, dest, opts, tc, observer)
        proxy.status = "made"
    except RushlineError as exc:
        proxy.error = str(exc)
    except OSError as exc:  # a full disk, a folder we may not write: this clip's error
        proxy.error = f"cannot write {exc.filename or dest}: {exc.strerror or exc}"
    return proxy


def _encode(
    asset: Asset, dest: Path, opts: DailiesOptions, tc: SourceTimecode, observer: Observer | None
) -> float:
    """Encode to a hidden temp name beside `dest`, then publish it; seconds it took."""
    started = time.monotonic()
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.parent / f".{dest.name}.{secrets.token_hex(4)}.part"
    try:
        with tempfile.TemporaryDirectory(prefix="rushline-burnin-") as text_dir:
            cmd = proxy_command(asset, tmp, opts, tc, Path(text_dir))
            run_encode(
                cmd,
                tmp,
                what=f"making the proxy of {asset.path}",
                on_progress=observer.advance if observer is not None else None,
            )
        _check_frames(tmp, asset)
        place(tmp, dest, overwrite=opts.force)
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
    return round(time.monotonic() - started, 3)


def _check_frames(tmp: Path, asset: Asset) -> None:
    """A proxy with fewer frames than its clip says (truncated media ffmpeg decoded as far as
    it could) would relink wrongly: it is this clip's error, and not published."""
    from pymediainfo import MediaInfo

    expected = asset.video[0].frame_count
    tracks = MediaInfo.parse(str(tmp)).video_tracks
    made = int(tracks[0].frame_count or 0) if tracks else 0
    if expected and made < expected:
        raise RushlineError(
            f"{asset.path}: only {made} of {expected} frames could be decoded; the clip is "
            "truncated or damaged",
            path=asset.path,
            hint="re-copy it from the card (or its offload) and run again",
        )


def make_dailies(
    paths: Iterable[str | os.PathLike[str]], opts: DailiesOptions, observer: Observer | None = None
) -> list[Proxy]:
    """Proxies of every clip under `paths`; bad arguments raise before any work starts."""
    paths = list(paths)
    check_options(paths, opts)
    clips = find_clips(paths)
    names = proxy_names(clips, opts.out_dir, opts.codec)
    results = []
    for clip in clips:
        proxy = make_proxy(clip, names[clip], opts, observer)
        if observer is not None:
            observer.done(proxy)
        results.append(proxy)
    return results
