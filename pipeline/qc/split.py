"""Split-and-merge QC: one long file measured in segments (on several machines), merged exactly.

A file is cut into spans on keyframes (`plan_spans`). Each span is decoded on its own with a
pre-roll before its start (`measure_span`): the pre-roll lets the stateful measures settle and is
dropped, so every segment hands over exactly the per-frame and per-100 ms numbers (and the
loudness meters' 1 ms tick energies) a one-pass decode gives for its frames and samples. The merge
concatenates them and runs the one-pass findings path (`pipeline.qc.run.judge`) on the result, so
the findings are those of `qc_file`:

- picture: every PictureAnalysis series is per frame and depends on the previous frame at most;
  the pre-roll (≥ 1 s) starts on a multiple of `pattern_step`, so the pattern analysis samples
  the same global frames as a one-pass run;
- sound: segments cut on the 100 ms grid (window statistics, gating blocks and ticks line up);
  each loudness meter records its tick energies after 0.5 s of settling (the K-weighting filter's
  memory is a few ms) and the merged meter slides its windows over the concatenated ticks, in the
  same groups as a one-pass meter: integrated loudness, LRA, maxima and series come out the
  same to rounding. True peak is the maximum over segments, each interpolating only real samples
  (the pre-roll feeds the interpolator's history; nothing is rung out at a cut). 0.2 s of ticks
  before each cut are measured by both neighbours and compared: a file whose audio timestamps
  are not sample-exact is refused rather than merged wrong;
- clipping runs are kept at their global sample positions and joined across a cut;
- dialogue-gated loudness: the WebRTC speech detector adapts to everything it heard before, so
  its decisions cannot be cut; the first segment's worker also hears the whole file's sound in
  an audio-only pass (packets of the picture read, not decoded) and that one meter is used.

Not exact: ffmpeg's idet (interlace evidence) samples frames by their index within a decode, so
only the first segment's (which starts at frame 0) sees the frames a one-pass run sees; the
evidence comes from it alone: equal to one pass while the first segment holds every sampled
frame (the first 20 s: a 50-frame run every 500 frames), a subset for a longer file. The
decode-error count is summed (a pre-roll's complaints count twice); it is advisory.
"""

from __future__ import annotations

import io
import math
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from pipeline import tools
from pipeline.errors import MediaError, UserInputError
from pipeline.profiles import Profile, load_profile
from pipeline.qc.decode import IDET_EVERY, DecodeStats, StreamLayout, decode_pass, probe_layout
from pipeline.qc.findings import QCResult
from pipeline.qc.lineup import LineupAnalysis, is_bars
from pipeline.qc.loudness import MeterPart
from pipeline.qc.pse import PATTERN_EVERY_S
from pipeline.qc.registry import Measured

PREROLL_S = 1.0  # decoded before a segment's start: picture state, audio settling and overlap
SETTLE_BLOCKS = 5  # 100 ms blocks of audio the meters hear before they record (filters settle)
GUARD_BLOCKS = 2  # 100 ms blocks both neighbours record, compared at the merge
TAIL_SLACK_S = 0.2  # decoded past a segment's end, so its last frame and sample are surely in
MIN_SEGMENT_S = 2.0  # no cut closer than this to the file's start or end

PICTURE_SERIES = (
    "black_frac",
    "dark_level",
    "mean_luma",
    "diff",
    "luma_oor",
    "rgb_oor",
    "rgb_oor_alt",
    "flash_dir",
    "red_dir",
    "flash_area",
)

ProfileRef = str | os.PathLike[str] | Profile


class SplitError(UserInputError):
    """A split QC that cannot be done exactly, or spans that do not fit the file."""


@dataclass(frozen=True)
class Span:
    """One time segment of the file."""

    index: int
    start_s: float  # the segment's own range [start_s, end_s) (end_s None = to the end)
    end_s: float | None
    preroll_s: float  # decoded before start_s so stateful measures settle; dropped at merge


@dataclass
class PicturePart:
    """A segment's picture series (its own frames only), frame indices global."""

    first_frame: int
    series: dict[str, np.ndarray]
    patterns: list[Any]  # pipeline.qc.pse.PatternSample
    thumbnails: dict[int, bytes]  # global frame -> PNG
    bars: list[bool]  # line-up frames of this segment: colour bars or not


@dataclass
class SoundPart:
    """A segment's audio measurements (its own samples only), sample positions global."""

    sample_rate: int
    channels: int
    first_sample: int
    frames: int
    window_power: np.ndarray  # (windows, channels)
    window_peak: np.ndarray
    pair_stats: np.ndarray  # (windows, pairs, 3)
    clips: list[list[tuple[int, int]]]  # per channel: (global start, length), short ones at cuts
    cross_sums: np.ndarray
    meter: MeterPart | None
    meter_error: str | None
    mixes: dict[str, MeterPart]
    tone: list[np.ndarray]  # line-up tone windows of this segment


@dataclass
class SpanMeasure:
    """What `measure_span` returns: small, picklable numbers for the merge."""

    span: Span
    picture: PicturePart | None
    sound: SoundPart | None
    decode: DecodeStats = field(default_factory=DecodeStats)
    # The first segment carries the dialogue-gated meter of the whole file (see
    # `measure_dialogue`), when the profile asks for it.
    dialogue: Any = None


# --- planning -----------------------------------------------------------------------------------


_CRC_LINE = re.compile(r"^\s*0,\s*(-?\d+|NOPTS),\s*(-?\d+|NOPTS),")
_TB = re.compile(r"^#tb 0: (\d+)/(\d+)")


def keyframe_times(path: str | os.PathLike[str]) -> list[float]:
    """Presentation times (s) of the video keyframes, from packet flags (nothing decoded)."""
    p = Path(path)
    res = tools.run(
        [
            tools.ffmpeg_exe(),
            "-hide_banner",
            "-nostdin",
            "-v",
            "error",
            "-i",
            tools.ffmpeg_input(p),
            "-map",
            "0:v:0",
            "-c",
            "copy",
            "-bsf:v",
            "noise=drop=not(key)",
            "-f",
            "framecrc",
            "-",
        ],
        what="listing the keyframes of",
        path=p,
    )
    tb = 0.0
    out = []
    for line in res.stdout.decode("ascii", "replace").splitlines():
        if (m := _TB.match(line)) is not None:
            tb = int(m.group(1)) / int(m.group(2))
        elif (m := _CRC_LINE.match(line)) is not None and tb:
            ts = m.group(2) if m.group(2) != "NOPTS" else m.group(1)
            if ts != "NOPTS":
                out.append(int(ts) * tb)
    return sorted(set(out))


def _profile(profile: ProfileRef) -> Profile:
    return profile if isinstance(profile, Profile) else load_profile(profile)


def _pattern_step(fps: float) -> int:
    return max(1, round(fps * PATTERN_EVERY_S))


def _preroll_frames(start_frame: int, fps: float) -> int:
    """At least PREROLL_S, starting on a multiple of the pattern step (patterns are sampled on
    the same global frames as in one pass); from frame 0 when the start is that close."""
    step = _pattern_step(fps)
    need = math.ceil(PREROLL_S * fps)
    pre = need + (start_frame - need) % step
    return min(pre, start_frame)


def plan_spans(path: str | os.PathLike[str], n: int) -> list[Span]:
    """`n` spans of about equal length, cut on keyframes (on the 100 ms grid for audio-only
    files). Fewer come back when the file has too few keyframes for `n`."""
    if n < 1:
        raise SplitError(f"split QC needs at least one segment, not {n}")
    layout = probe_layout(path)
    duration = layout.duration_s
    if not duration:
        raise MediaError(f"{path}: the file declares no duration; it cannot be split", path=path)
    has_picture = layout.has_video and not layout.video_is_still
    fps = float(layout.fps or 0.0) if has_picture else 10.0  # audio-only: the 100 ms grid
    if has_picture and not fps:
        raise MediaError(f"{path}: the video has no frame rate", path=path)
    if has_picture:
        frames = sorted({round(t * fps) for t in keyframe_times(path)})
    else:
        frames = list(range(round(duration * fps) + 1))
    lo, hi = MIN_SEGMENT_S * fps, (duration - MIN_SEGMENT_S) * fps
    usable = np.asarray([f for f in frames if lo <= f <= hi], dtype=np.int64)
    cuts: list[int] = []
    for i in range(1, n):
        if usable.size == 0:
            break
        target = i * duration * fps / n
        best = int(usable[np.argmin(np.abs(usable - target))])
        if not cuts or best > cuts[-1]:
            cuts.append(best)
    starts = [0, *cuts]
    spans = []
    for i, first in enumerate(starts):
        end = starts[i + 1] / fps if i + 1 < len(starts) else None
        pre = _preroll_frames(first, fps) if has_picture else min(first, round(PREROLL_S * fps))
        spans.append(Span(i, round(first / fps, 6), None if end is None else round(end, 6),
                          round(pre / fps, 6)))  # fmt: skip
    return spans


def check_spans(spans: list[Span]) -> None:
    """Refuse a span list that does not cover the file once, in order, from 0 to the end."""
    if not spans:
        raise SplitError("split QC got no spans")
    for k, s in enumerate(spans):
        if s.index != k:
            raise SplitError(f"span {k} is numbered {s.index}: spans must come in file order")
        if s.preroll_s < 0 or s.preroll_s > s.start_s + 1e-9:
            raise SplitError(f"span {k}: pre-roll {s.preroll_s} s reaches before the file")
        if k + 1 < len(spans):
            nxt = spans[k + 1]
            if s.end_s is None or abs(s.end_s - nxt.start_s) > 1e-6 or s.end_s <= s.start_s:
                raise SplitError(
                    f"span {k} ends at {s.end_s} s but span {k + 1} starts at {nxt.start_s} s: "
                    "the spans do not cover the file"
                )
    if spans[0].start_s != 0.0:
        raise SplitError(f"the first span starts at {spans[0].start_s} s, not at the file start")
    if spans[-1].end_s is not None:
        raise SplitError(f"the last span ends at {spans[-1].end_s} s, not at the end of the file")


def wants_dialogue(profile: Profile) -> bool:
    return profile.loudness is not None and profile.loudness.dialogue is not None


def measure_dialogue(layout: StreamLayout, profile: Profile) -> Any:
    """The dialogue-gated meter over the whole file, from an audio-only pass.

    The speech detector adapts to all the audio before each moment, so its decisions cannot be
    cut into segments; hearing the whole programme once reproduces the one-pass meter exactly.
    The pass decodes sound only (the picture's packets are read, not decoded): cheap beside a
    picture segment, so the first segment's worker does it too. Returned finished and without
    its detector, so it pickles; `result()` still answers for any window.
    """
    from pipeline.qc.sound import SoundAnalysis

    held: dict[str, Any] = {}

    def on_format(rate: int, channels: int) -> None:
        held["sa"] = SoundAnalysis(profile=profile, sample_rate=rate, channels=channels)

    def on_audio(block: np.ndarray) -> None:
        sa = held["sa"]
        if sa.dialogue is not None:
            sa.dialogue.add(block[:, sa.prog])

    decode_pass(layout, on_frame=None, on_audio=on_audio, on_audio_format=on_format)
    meter = held["sa"].dialogue if "sa" in held else None
    if meter is not None:
        meter.result()  # hears the last, partial second
        meter._vad = None  # noqa: SLF001 (a C object; nothing is left for it to hear)
    return meter


# --- one segment ----------------------------------------------------------------------------------


def _audio_cut(t: float | None, rate: int) -> int | None:
    """A cut time as a global sample on the 100 ms grid (at or before the picture's cut)."""
    if t is None:
        return None
    n100 = max(1, round(rate * 0.1))
    return int(round(t * rate)) // n100 * n100


class _SpanSound:
    """Feeds one segment's audio: meters from their settling point, the rest from the cut."""

    def __init__(
        self, profile: Profile, span: Span, decode_from_s: float, la: LineupAnalysis | None
    ) -> None:
        self.profile = profile
        self.span = span
        self.decode_from_s = decode_from_s
        self.la = la  # the whole line-up, at the layout's rate (rescaled as run._decode does)
        self.sa: Any = None
        self.tone: LineupAnalysis | None = None
        self.recording = False

    def on_format(self, rate: int, channels: int) -> None:
        from pipeline.qc.sound import SoundAnalysis

        if channels <= 0:
            raise MediaError(f"{self.span}: the audio stream has 0 channels")
        self.sa = sa = SoundAnalysis(profile=self.profile, sample_rate=rate, channels=channels)
        sa.dialogue = None  # heard over the whole file by measure_dialogue, not per segment
        self.real_clip_min = sa.clip_min
        sa.clip_min = 1  # short runs at a cut may join a neighbour's: filtered after the pass
        n100 = sa.window
        self.a0 = _audio_cut(self.span.start_s, rate) or 0
        self.a1 = _audio_cut(self.span.end_s, rate)
        self.pos = round(self.decode_from_s * rate)
        self.meter_from = max(0, self.a0 - (SETTLE_BLOCKS + GUARD_BLOCKS) * n100)
        self.rec_from = max(0, self.a0 - GUARD_BLOCKS * n100)
        if self.meter_from < self.pos:
            raise SplitError(f"span {self.span.index}: the pre-roll is too short for the audio")
        tick = sa.meter._tick if sa.meter is not None else 1  # noqa: SLF001
        self.lead = (self.a0 - self.rec_from) // tick
        samples = 0
        if self.la is not None:
            samples = self.la.samples
            if rate != self.la.sample_rate:
                samples = round(samples * rate / self.la.sample_rate)
        if samples > self.a0:
            self.tone = LineupAnalysis(frames=0, samples=samples - self.a0, sample_rate=rate)

    def on_audio(self, block: np.ndarray) -> None:
        start = self.pos
        n = block.shape[0]
        self.pos += n
        marks = (self.meter_from, self.rec_from, self.a0, self.a1)
        cuts = sorted({c for c in marks if c is not None and start < c < start + n})
        edges = [start, *cuts, start + n]
        for lo, hi in zip(edges, edges[1:], strict=False):
            self._piece(lo, block[lo - start : hi - start])

    def _piece(self, at: int, piece: np.ndarray) -> None:
        sa = self.sa
        if (self.a1 is not None and at >= self.a1) or at < self.meter_from or not piece.shape[0]:
            return
        if at >= self.rec_from and not self.recording:
            self._start_recording()
        if at >= self.a0:
            sa.feed(piece)
            if self.tone is not None:
                self.tone.feed_audio(piece)
            return
        if sa.meter is not None:
            sa.meter.add(piece[:, sa.prog] if len(sa.prog) != sa.channels else piece)
        for chs, meter in sa.mix_meters.values():
            meter.add(piece[:, chs])

    def _start_recording(self) -> None:
        self.recording = True
        if self.sa.meter is not None:
            self.sa.meter.start_recording()
        for _chs, meter in self.sa.mix_meters.values():
            meter.start_recording()

    def part(self) -> SoundPart:
        sa = self.sa
        if self.a1 is not None and self.pos < self.a1:
            raise MediaError(
                f"span {self.span.index}: the audio ends at sample {self.pos}, before the "
                f"segment's end ({self.a1}): the file is truncated or the spans do not fit it"
            )
        if not self.recording:
            self._start_recording()
        sa.finish()
        sa.close_clipping()
        final = self.a1 is None
        clips = [
            [
                (self.a0 + s, n)
                for s, n in runs
                if n >= self.real_clip_min or s == 0 or s + n == sa.frames
            ]
            for runs in sa.clips
        ]
        return SoundPart(
            sample_rate=sa.sample_rate,
            channels=sa.channels,
            first_sample=self.a0,
            frames=sa.frames,
            window_power=sa.power(),
            window_peak=np.asarray(sa.window_peak).reshape(-1, sa.channels),
            pair_stats=np.asarray(sa.pair_stats).reshape(-1, len(sa.pairs), 3),
            clips=clips,
            cross_sums=np.asarray(sa.cross_sums, dtype=np.float64),
            meter=sa.meter.part(final=final, lead_ticks=self.lead) if sa.meter else None,
            meter_error=sa.meter_error,
            mixes={
                name: meter.part(final=final, lead_ticks=self.lead)
                for name, (_chs, meter) in sa.mix_meters.items()
            },
            tone=list(self.tone.tone) if self.tone is not None else [],
        )


def measure_span(path: str | os.PathLike[str], profile: ProfileRef, span: Span) -> SpanMeasure:
    """Decode one span (with its pre-roll) and return what the merge needs (runs on a worker)."""
    from pipeline.qc.picture import PictureAnalysis
    from pipeline.qc.run import prepare

    p = Path(path)
    prof = _profile(profile)
    layout, _asset, fps, _head, la = prepare(p, prof)
    has_picture = layout.has_video and not layout.video_is_still
    rate = float(fps) if has_picture and fps else 10.0
    first = round(span.start_s * rate)
    pre = round(span.preroll_s * rate)
    end = None if span.end_s is None else round(span.end_s * rate)
    decode_first = first - pre
    if has_picture and decode_first % _pattern_step(rate):
        raise SplitError(f"span {span.index}: its pre-roll does not start on the pattern grid")
    picture = (
        PictureAnalysis(layout=layout, spec=prof.picture, fps=float(fps or 25.0))
        if has_picture
        else None
    )
    # Seek one microsecond before the frame: accurate seeking then keeps `decode_first` (a
    # 29.97 frame time is not a whole number of microseconds), and a demuxer that seeks to the
    # nearest edit unit (MXF) starts the picture and the sound on that same frame. Seeking a
    # quarter frame early made MXF audio start a frame late (MXF rounds to the nearest unit).
    seek = round(max(0.0, decode_first / rate - 1e-6), 6) if decode_first else 0.0
    sound = _SpanSound(prof, span, seek, la)
    bars: list[bool] = []
    head_frames = la.frames if la is not None else 0

    def on_frame(index: int, planes: np.ndarray) -> None:
        g = decode_first + index
        if end is not None and g >= end:
            return
        assert picture is not None
        picture.feed(index, planes)
        if first <= g < head_frames:
            bars.append(is_bars(planes, layout.bit_depth))

    duration = None if span.end_s is None else span.end_s + TAIL_SLACK_S - seek
    stats = decode_pass(
        layout,
        on_frame=on_frame if picture is not None else None,
        on_audio=sound.on_audio if layout.has_audio else None,
        on_audio_format=sound.on_format,
        # idet samples frames by their index in the pass: only a decode starting on its grid
        # (the first segment) sees the frames a one-pass run sees; the others would count
        # other frames (and their pre-roll) and could tip the evidence.
        interlace_evidence=decode_first % IDET_EVERY == 0,
        start_s=seek or None,
        duration_s=duration,
    )
    pic = _picture_part(picture, span, first, pre, end, bars) if picture is not None else None
    snd = sound.part() if sound.sa is not None else None
    if layout.has_audio and snd is None:
        raise MediaError(f"{p}: the audio could not be decoded", path=p)
    stats.frames = len(pic.series["diff"]) if pic is not None else 0
    stats.audio_frames = snd.frames if snd is not None else 0
    stats.stderr_tail, stats.cmd = [], []
    dialogue = None
    if span.index == 0 and layout.has_audio and wants_dialogue(prof):
        dialogue = measure_dialogue(layout, prof)
    return SpanMeasure(span=span, picture=pic, sound=snd, decode=stats, dialogue=dialogue)


def _picture_part(
    pa: Any, span: Span, first: int, pre: int, end: int | None, bars: list[bool]
) -> PicturePart:
    """The segment's own frames of every series; patterns and thumbnails at global frames."""
    from PIL import Image

    kept = pa.frames - pre
    if kept <= 0 or (end is not None and pre + (end - first) > pa.frames):
        raise MediaError(
            f"span {span.index}: decoded {pa.frames} frame(s), fewer than the segment holds; "
            "the file is truncated or the spans do not fit it"
        )
    series = {name: np.asarray(getattr(pa, name)[pre:]) for name in PICTURE_SERIES}
    shift = first - pre
    patterns = [
        type(s)(s.frame + shift, s.area, s.pairs, s.contrast_cd_m2, s.period_px)
        for s in pa.patterns
        if s.frame >= pre
    ]
    thumbs = {}
    for frame, rgb in pa.thumbnails.items():
        if frame >= pre:
            buf = io.BytesIO()
            Image.fromarray(rgb).save(buf, format="PNG")  # lossless: the same JPEG at the end
            thumbs[frame + shift] = buf.getvalue()
    return PicturePart(first_frame=first, series=series, patterns=patterns, thumbnails=thumbs,
                       bars=bars)  # fmt: skip


# --- merge ----------------------------------------------------------------------------------------


def merge_spans(
    path: str | os.PathLike[str],
    profile: ProfileRef,
    spans: list[Span],
    parts: list[SpanMeasure],
    *,
    thumbnails_dir: str | os.PathLike[str] | None = None,
    tools: dict[str, str | None] | None = None,
) -> QCResult:
    """The QCResult `qc_file` gives, from the segments' measurements; refuses spans that do not
    cover the file (SplitError) before any work."""
    from pipeline.qc.run import guarded
    from pipeline.tools import tool_versions

    check_spans(spans)
    if [m.span for m in parts] != list(spans):
        raise SplitError("the segment measurements do not match the spans, one for one, in order")
    p = Path(path)
    prof = _profile(profile)
    tools = tools if tools is not None else tool_versions()
    return guarded(
        p, prof.name, tools, lambda: _merge(p, prof, spans, parts, thumbnails_dir, tools)
    )


def _merge(
    p: Path,
    profile: Profile,
    spans: list[Span],
    parts: list[SpanMeasure],
    thumbnails_dir: str | os.PathLike[str] | None,
    tools: dict[str, str | None],
) -> QCResult:
    from pipeline.qc.run import judge, prepare

    layout, asset, fps, head, la = prepare(p, profile)
    picture = _merge_picture(layout, profile, fps, parts)
    sound = _merge_sound(profile, parts)
    if sound is not None:
        sound.dialogue = parts[0].dialogue if wants_dialogue(profile) else None
    if la is not None:
        la.bars = [b for m in parts if m.picture is not None for b in m.picture.bars]
        if sound is not None and sound.sample_rate != la.sample_rate:
            la.samples = round(la.samples * sound.sample_rate / la.sample_rate)
            la.sample_rate = sound.sample_rate
        la.tone = [t for m in parts if m.sound is not None for t in m.sound.tone]
    stats = _merge_stats(parts)
    m = Measured(layout=layout, decode=stats, picture=picture, sound=sound, asset=asset)
    result = judge(p, profile, m, head, la, thumbnails_dir=thumbnails_dir, tools=tools)
    result.measurements["split"] = {
        "segments": len(spans),
        "boundaries_s": [s.start_s for s in spans[1:]],
    }
    return result


def _merge_stats(parts: list[SpanMeasure]) -> DecodeStats:
    out = DecodeStats()
    for m in parts:
        d = m.decode
        out.frames += d.frames
        out.audio_frames += d.audio_frames
        out.decode_errors += d.decode_errors
        out.sample_rate = out.sample_rate or d.sample_rate
        out.channels = out.channels or d.channels
        out.analysis_width = out.analysis_width or d.analysis_width
        out.analysis_height = out.analysis_height or d.analysis_height
        for k, v in d.idet.items():
            out.idet[k] = out.idet.get(k, 0) + v
    return out


def _merge_picture(
    layout: StreamLayout, profile: Profile, fps: float | None, parts: list[SpanMeasure]
) -> Any:
    from PIL import Image

    from pipeline.qc.picture import MAX_THUMBNAILS, PictureAnalysis

    pics = [m.picture for m in parts]
    if not (layout.has_video and not layout.video_is_still):
        return None
    if any(pp is None for pp in pics):
        raise SplitError("a segment has no picture measurements while the file has video")
    pa = PictureAnalysis(layout=layout, spec=profile.picture, fps=float(fps or 25.0))
    at = 0
    for pp in pics:
        assert pp is not None
        if pp.first_frame != at:
            raise SplitError(f"segment at frame {pp.first_frame} follows frame {at}: a gap")
        at += len(pp.series["diff"])
    for name in PICTURE_SERIES:
        setattr(pa, name, np.concatenate([pp.series[name] for pp in pics]).tolist())  # type: ignore[union-attr]
    pa.patterns = [s for pp in pics for s in pp.patterns]  # type: ignore[union-attr]
    frames = sorted(f for pp in pics for f in pp.thumbnails)  # type: ignore[union-attr]
    blobs = {f: b for pp in pics for f, b in pp.thumbnails.items()}  # type: ignore[union-attr]
    pa.thumbnails = {
        f: np.asarray(Image.open(io.BytesIO(blobs[f])).convert("RGB"))
        for f in frames[:MAX_THUMBNAILS]
    }
    return pa


def _merge_sound(profile: Profile, parts: list[SpanMeasure]) -> Any:
    from pipeline.qc.sound import SoundAnalysis

    snds = [m.sound for m in parts]
    if all(s is None for s in snds):
        return None
    if any(s is None for s in snds):
        raise SplitError("a segment has no audio measurements while the others have")
    first = snds[0]
    assert first is not None
    sa = SoundAnalysis(profile=profile, sample_rate=first.sample_rate, channels=first.channels)
    at = 0
    for s in snds:
        assert s is not None
        if s.first_sample != at or s.channels != sa.channels or s.sample_rate != sa.sample_rate:
            raise SplitError(f"segment audio at sample {s.first_sample} does not follow {at}")
        at += s.frames
    sa.frames = at
    sa.window_power = list(np.concatenate([s.window_power for s in snds]))  # type: ignore[union-attr]
    sa.window_peak = list(np.concatenate([s.window_peak for s in snds]))  # type: ignore[union-attr]
    sa.pair_stats = list(np.concatenate([s.pair_stats for s in snds]))  # type: ignore[union-attr]
    sa.cross_sums = np.sum([s.cross_sums for s in snds], axis=0)  # type: ignore[union-attr]
    sa.clips = [_join_runs([r for s in snds for r in s.clips[c]], sa.clip_min)  # type: ignore[union-attr]
                for c in range(sa.channels)]  # fmt: skip
    if sa.meter is not None:
        sa.meter.load_parts([s.meter for s in snds])  # type: ignore[union-attr]
    for name, (_chs, meter) in sa.mix_meters.items():
        meter.load_parts([s.mixes[name] for s in snds])  # type: ignore[union-attr]
    return sa


def _join_runs(runs: list[tuple[int, int]], min_len: int) -> list[tuple[int, int]]:
    """Clipped runs in file order, a run cut by a segment boundary joined again."""
    out: list[tuple[int, int]] = []
    for start, n in runs:
        if out and out[-1][0] + out[-1][1] == start:
            out[-1] = (out[-1][0], out[-1][1] + n)
        else:
            out.append((start, n))
    return [r for r in out if r[1] >= min_len]


def qc_split(
    path: str | os.PathLike[str],
    profile: ProfileRef,
    n: int,
    *,
    thumbnails_dir: str | os.PathLike[str] | None = None,
) -> QCResult:
    """Split QC in this process, one span after the other (tests; no cluster at hand)."""
    from pipeline.qc.run import guarded
    from pipeline.tools import tool_versions

    p = Path(path)
    prof = _profile(profile)
    versions = tool_versions()

    def work() -> QCResult:
        spans = plan_spans(p, n)
        parts = [measure_span(p, prof, s) for s in spans]
        return merge_spans(p, prof, spans, parts, thumbnails_dir=thumbnails_dir, tools=versions)

    return guarded(p, prof.name, versions, work)
