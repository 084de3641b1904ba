"""The one decode pass: ffmpeg decodes the file once; every QC check reads from that pass.

One ffmpeg process writes two raw streams at the same time:

- a reduced picture (about 480 pixels wide, YUV 4:4:4 at the source bit depth) on stdout, so
  black, freeze, levels/gamut and flash analysis run in numpy on ~1/16 of the pixels. It stays
  4:4:4 for a 4:2:2 master, though a 4:2:2 output would cost swscale a third less: area-scaled
  to 4:4:4, every reduced pixel's Y, Cb and Cr average the same source pixels, so its R'G'B' is
  the average of theirs and legal pixels never average into an illegal one; chroma averaged
  over twice the luma's width and repeated would (measured: 0.2 % of a test pattern's pixels);
- all audio streams merged in file order (`amerge`) as 32-bit float WAV on a second pipe, so
  `LoudnessSpec.channels` (1-based across every track) indexes the merged channels directly.

A sampled branch of the same graph runs ffmpeg's `idet` (interlace detection) on a picture that
is narrower but keeps every line, since field evidence lives in the vertical direction only.

Why pipes rather than ffmpeg's own detectors (blackdetect, freezedetect, signalstats...): those
run on the full-resolution picture, each with its own per-pixel pass, and report only what their
fixed rules see. Piping a reduced picture keeps ffmpeg's extra work to one cheap scale, lets the
checks apply profile rules (R103 1 % rule, BT.1702 flash pairs, night scene ≠ black) and gives
us thumbnails for the report from the same frames.

Each pipe has its own reader thread (and stderr a third) so ffmpeg never blocks on a full pipe.
"""

from __future__ import annotations

import fcntl
import logging
import os
import queue
import re
import struct
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO, TypeVar

import numpy as np

from pipeline import tools
from pipeline.errors import MediaError

log = logging.getLogger("rushline.qc.decode")

ANALYSIS_WIDTH = 480  # reduced picture width for per-pixel checks (1/4 of HD)
IDET_EVERY = 500  # idet sees the first IDET_RUN frames of every IDET_EVERY (20 s at 25 fps)
IDET_RUN = 50
IDET_WIDTH = 240  # idet picture width: every line kept, columns point-sampled
AUDIO_BLOCK_S = 0.5  # audio handed to the checks in blocks of this length
VIDEO_QUEUE_FRAMES = 48  # decoded frames waiting for the checks (~37 MB at 480x270 10-bit)
AUDIO_QUEUE_BLOCKS = 32  # audio blocks waiting for the checks (16 s)
PIPE_BYTES = 1 << 20  # ask Linux for 1 MB pipes (64 KB by default): fewer stalls
SCALE_FLAGS = "area"  # area averaging: the low-pass R103 assumes before counting pixels

FrameSink = Callable[[int, np.ndarray], None]  # (frame index, planes (3, h, w)), a fresh array
AudioSink = Callable[[np.ndarray], None]  # (frames, channels) float32


@dataclass
class AudioStreamInfo:
    index: int  # among audio streams, 0-based, in file order
    sample_rate: int | None
    layout: str  # "stereo", "mono", "8 channels", "0 channels"...


@dataclass
class StreamLayout:
    """What ffmpeg will decode, read from its own view of the file (so -map indexes match)."""

    path: str
    duration_s: float | None = None
    has_video: bool = False
    width: int | None = None
    height: int | None = None
    fps: float | None = None
    pix_fmt: str | None = None
    bit_depth: int = 8
    full_range: bool = False
    field_order: str | None = None  # "progressive", "tff", "bff" or None (not declared)
    video_is_still: bool = False  # cover art, a single image
    matrix: str | None = None  # "bt709", "bt601" when the stream says so
    audio: list[AudioStreamInfo] = field(default_factory=list)

    @property
    def has_audio(self) -> bool:
        return bool(self.audio)


_DURATION = re.compile(r"Duration: (\d+):(\d\d):(\d\d(?:\.\d+)?)")
_STREAM = re.compile(r"Stream #0:(\d+)(?:\[[^\]]*\])?(?:\([^)]*\))?: (Video|Audio|Data|Subtitle)")
_SIZE = re.compile(r", (\d{2,5})x(\d{2,5})[, ]")
_FPS = re.compile(r", ([\d.]+)(k?) (?:fps|tbr)")
_PIXFMT = re.compile(r"Video: [^,]+(?:\([^)]*\))*[^,]*, ([a-z0-9_]+)(\(([^)]*)\))?")
_RATE = re.compile(r", (\d+) Hz, ([^,]+)")


def probe_layout(path: str | os.PathLike[str]) -> StreamLayout:
    """Read the stream layout from ffmpeg's header dump (no decoding).

    Raises MediaError when ffmpeg cannot open the file or finds no audio or video in it.
    """
    p = Path(path)
    if not p.is_file():
        raise MediaError(f"{p}: file not found", path=p, hint="check the path")
    res = tools.run(
        [tools.ffmpeg_exe(), "-hide_banner", "-nostdin", "-i", tools.ffmpeg_input(p)],
        what="reading the streams of",
        path=p,
        check=False,
    )
    text = res.stderr
    lay = StreamLayout(path=str(p))
    if "Input #0" not in text:
        last = text.strip().splitlines()[-1] if text.strip() else "no output"
        last = last.replace(tools.ffmpeg_input(p), str(p))
        raise MediaError(
            f"{p}: not a readable audio or video file ({last})",
            path=p,
            hint="check that the copy is complete and that this is really a media file",
        )
    m = _DURATION.search(text)
    if m:
        lay.duration_s = int(m.group(1)) * 3600 + int(m.group(2)) * 60 + float(m.group(3))
    audio_index = 0
    for line in text.splitlines():
        sm = _STREAM.search(line)
        if not sm:
            continue
        kind = sm.group(2)
        if kind == "Video" and not lay.has_video:
            if "(attached pic)" in line:
                continue  # cover art in an audio file is not programme picture
            lay.has_video = True
            size = _SIZE.search(line)
            if size:
                lay.width, lay.height = int(size.group(1)), int(size.group(2))
            fps = _FPS.search(line)
            if fps:
                lay.fps = float(fps.group(1)) * (1000 if fps.group(2) else 1)
            pm = _PIXFMT.search(line)
            if pm:
                lay.pix_fmt = pm.group(1)
                extra = pm.group(3) or ""
                lay.full_range = "pc" in extra.split(", ") or lay.pix_fmt.startswith("yuvj")
                if "progressive" in extra:
                    lay.field_order = "progressive"
                elif "top coded first" in extra or "bottom first" in extra:
                    lay.field_order = "bff"  # "top coded first (swapped)" displays bottom first
                elif "top first" in extra or "bottom coded first" in extra:
                    lay.field_order = "tff"
                lay.bit_depth = _bit_depth(lay.pix_fmt)
                if "bt709" in extra:
                    lay.matrix = "bt709"
                elif "smpte170m" in extra or "bt470bg" in extra:
                    lay.matrix = "bt601"
        elif kind == "Audio":
            rm = _RATE.search(line)
            lay.audio.append(
                AudioStreamInfo(
                    index=audio_index,
                    sample_rate=int(rm.group(1)) if rm else None,
                    layout=rm.group(2).strip() if rm else "unknown",
                )
            )
            audio_index += 1
    if not lay.has_video and not lay.audio:
        raise MediaError(
            f"{p}: ffmpeg finds no audio or video stream in this file",
            path=p,
            hint="check that this is the programme file and that the copy is complete",
        )
    if lay.has_video and not (lay.width and lay.height):
        raise MediaError(f"{p}: the video stream has no picture size", path=p)
    return lay


def _bit_depth(pix_fmt: str) -> int:
    for depth in (16, 14, 12, 10, 9):
        if f"p{depth}" in pix_fmt or f"{depth}le" in pix_fmt or f"{depth}be" in pix_fmt:
            return 8 if depth == 9 else min(depth, 16)
    return 8


def analysis_size(width: int, height: int) -> tuple[int, int]:
    """Reduced picture size: ANALYSIS_WIDTH wide at most, even dimensions, same aspect."""
    if width <= ANALYSIS_WIDTH:
        w, h = width, height
    else:
        w = ANALYSIS_WIDTH
        h = round(height * ANALYSIS_WIDTH / width)
    return max(2, w - w % 2), max(2, h - h % 2)


@dataclass
class DecodeStats:
    """What the pass saw: decoded amounts, idet evidence and ffmpeg's complaints."""

    frames: int = 0
    audio_frames: int = 0
    sample_rate: int | None = None
    channels: int = 0
    analysis_width: int | None = None
    analysis_height: int | None = None
    idet: dict[str, int] = field(default_factory=dict)  # multi-frame: tff, bff, progressive...
    decode_errors: int = 0
    stderr_tail: list[str] = field(default_factory=list)
    returncode: int = 0
    cmd: list[str] = field(default_factory=list)


_IDET = re.compile(
    r"Multi frame detection: TFF:\s*(\d+) BFF:\s*(\d+) Progressive:\s*(\d+) Undetermined:\s*(\d+)"
)
_ERRORISH = re.compile(r"error|invalid|corrupt|concealing|missing|truncat", re.IGNORECASE)


@dataclass
class _Plan:
    """The filter graph and outputs of one pass, and how to cut the picture pipe into frames."""

    graph: list[str] = field(default_factory=list)
    out_args: list[str] = field(default_factory=list)
    frame_bytes: int = 0
    dtype: type[np.unsignedinteger] = np.uint8
    width: int = 0
    height: int = 0


def _plan_video(plan: _Plan, layout: StreamLayout, interlace_evidence: bool) -> None:
    """Reduced picture on stdout; a sampled full-height branch feeds idet."""
    assert layout.width and layout.height
    aw, ah = analysis_size(layout.width, layout.height)
    plan.width, plan.height = aw, ah
    depth = layout.bit_depth
    fmt = "yuv444p" if depth <= 8 else f"yuv444p{min(depth, 16)}le"
    if depth > 8 and depth not in (10, 12, 16):
        fmt = "yuv444p16le"
    plan.dtype = np.uint8 if depth <= 8 else np.uint16
    plan.frame_bytes = aw * ah * 3 * np.dtype(plan.dtype).itemsize
    # Area averaging is the low-pass that R103's 1 % rule assumes; it also calms noise.
    scale = f"scale={aw}:{ah}:flags={SCALE_FLAGS},format={fmt}"
    if interlace_evidence and layout.height >= 2:
        idet_w = max(2, min(layout.width, IDET_WIDTH) // 2 * 2)
        plan.graph.append(
            f"[0:v:0]split=2[qcv][qci];[qcv]{scale}[vout];"
            f"[qci]select='lt(mod(n\\,{IDET_EVERY})\\,{IDET_RUN})',"
            f"scale={idet_w}:ih:flags=neighbor,format=gray,idet,nullsink"
        )
    else:
        plan.graph.append(f"[0:v:0]{scale}[vout]")
    plan.out_args += ["-map", "[vout]", "-f", "rawvideo", "pipe:1"]


def _plan_audio(plan: _Plan, layout: StreamLayout, audio_fd: int) -> None:
    """Every audio stream at the most common rate, merged in file order, as float WAV."""
    rates = [a.sample_rate for a in layout.audio if a.sample_rate]
    rate = max(set(rates), key=rates.count) if rates else 48000
    labels = []
    for a in layout.audio:
        label = f"qca{a.index}"
        if a.sample_rate and a.sample_rate != rate:
            plan.graph.append(f"[0:a:{a.index}]aresample={rate}[{label}]")
        else:
            plan.graph.append(f"[0:a:{a.index}]anull[{label}]")
        labels.append(f"[{label}]")
    if len(labels) == 1:
        plan.graph.append(f"{labels[0]}aformat=sample_fmts=flt[aout]")
    else:
        plan.graph.append(f"{''.join(labels)}amerge=inputs={len(labels)}[aout]")
    plan.out_args += ["-map", "[aout]", "-c:a", "pcm_f32le", "-f", "wav", f"pipe:{audio_fd}"]


def decode_pass(
    layout: StreamLayout,
    *,
    on_frame: FrameSink | None,
    on_audio: AudioSink | None,
    on_audio_format: Callable[[int, int], None] | None = None,
    interlace_evidence: bool = True,
    start_s: float | None = None,
    duration_s: float | None = None,
) -> DecodeStats:
    """Decode the file once, handing reduced frames and merged audio to the sinks.

    `on_audio_format(sample_rate, channels)` is called once before the first audio block.
    Exceptions raised inside a sink stop ffmpeg and are re-raised here. `start_s` and
    `duration_s` decode one span of the file (a split QC's segment): ffmpeg seeks accurately
    (it decodes from the keyframe before `start_s` and drops what precedes it).
    """
    path = Path(layout.path)
    want_video = on_frame is not None and layout.has_video
    want_audio = on_audio is not None and layout.has_audio
    if not (want_video or want_audio):
        return DecodeStats()
    stats = DecodeStats()
    plan = _Plan()
    if want_video:
        _plan_video(plan, layout, interlace_evidence)
        stats.analysis_width, stats.analysis_height = plan.width, plan.height
    afd_r = afd_w = -1
    if want_audio:
        afd_r, afd_w = os.pipe()
        _grow_pipe(afd_r)
        _plan_audio(plan, layout, afd_w)
    cmd = [
        tools.ffmpeg_exe(),
        "-hide_banner",
        "-nostdin",
        "-nostats",
        "-v",
        "info",
        *_span_args(start_s, duration_s),
        "-i",
        tools.ffmpeg_input(path),
        "-filter_complex",
        ";".join(plan.graph),
        *plan.out_args,
    ]
    stats.cmd = cmd
    try:
        proc = tools.spawn(
            cmd,
            what=f"decoding {path}",
            stdout=want_video,
            stderr=True,
            pass_fds=(afd_w,) if want_audio else (),
        )
    except BaseException:
        if afd_r >= 0:
            os.close(afd_r)
        raise
    finally:
        if afd_w >= 0:
            os.close(afd_w)  # the child holds its copy; EOF arrives when ffmpeg exits
    reader = DecodePass(
        path,
        proc,
        stats,
        plan,
        on_frame=on_frame if want_video else None,
        on_audio=on_audio if want_audio else None,
        on_audio_format=on_audio_format,
        audio_fd=afd_r,
    )
    return reader.run()


def _span_args(start_s: float | None, duration_s: float | None) -> list[str]:
    """Input options that limit the pass to one span of the file (exact microseconds)."""
    args = []
    if start_s is not None and start_s > 0:
        args += ["-ss", f"{start_s:.6f}"]
    if duration_s is not None:
        args += ["-t", f"{duration_s:.6f}"]
    return args


_Item = TypeVar("_Item")


class DecodePass:
    """The running ffmpeg of one pass and the threads that read its pipes.

    Each pipe has a reader that only moves bytes into a bounded queue and a worker that runs
    the checks: ffmpeg never waits on Python's arithmetic, only on a full queue, so decoding
    and measuring overlap on a multi-core machine. stderr has its own reader too, so ffmpeg
    never blocks on a full pipe.
    """

    def __init__(
        self,
        path: Path,
        proc: tools.Process,
        stats: DecodeStats,
        plan: _Plan,
        *,
        on_frame: FrameSink | None,
        on_audio: AudioSink | None,
        on_audio_format: Callable[[int, int], None] | None,
        audio_fd: int,
    ) -> None:
        self.path = path
        self.proc = proc
        self.stats = stats
        self.plan = plan
        self.on_frame = on_frame
        self.on_audio = on_audio
        self.on_audio_format = on_audio_format
        self.audio_fd = audio_fd
        self.stop = threading.Event()
        self.failures: list[BaseException] = []
        self.tail: deque[str] = deque(maxlen=40)
        self.video_q: queue.Queue[np.ndarray | None] = queue.Queue(maxsize=VIDEO_QUEUE_FRAMES)
        self.audio_q: queue.Queue[bytes | None] = queue.Queue(maxsize=AUDIO_QUEUE_BLOCKS)
        if on_frame is not None and proc.stdout is not None:
            _grow_pipe(proc.stdout.fileno())

    def run(self) -> DecodeStats:
        """Run every reader to the end, wait for ffmpeg, and raise what stopped the pass."""
        threads = [threading.Thread(target=self.read_stderr, name="qc-ffmpeg-stderr")]
        if self.on_frame is not None:
            threads.append(threading.Thread(target=self.read_video, name="qc-video-read"))
            threads.append(threading.Thread(target=self.measure_video, name="qc-video"))
        if self.on_audio is not None:
            threads.append(threading.Thread(target=self.read_audio, name="qc-audio-read"))
            threads.append(threading.Thread(target=self.measure_audio, name="qc-audio"))
        for t in threads:
            t.daemon = True
            t.start()
        try:
            for t in threads:
                t.join()
        except BaseException:  # Ctrl-C while waiting: stop ffmpeg rather than wait for it
            self.stop.set()
            self.proc.kill()
            raise
        finally:
            self.stats.returncode = tools.end(self.proc)
        self.stats.stderr_tail = list(self.tail)
        self._raise_failure()
        return self.stats

    def _raise_failure(self) -> None:
        stats, path = self.stats, self.path
        # When ffmpeg itself failed, its own words explain more than a reader that saw no data.
        ffmpeg_failed = stats.returncode > 0
        failures = self.failures
        if failures and not (ffmpeg_failed and isinstance(failures[0], MediaError)):
            raise failures[0]
        if stats.returncode != 0:
            detail = "; ".join(_useful_lines(stats.stderr_tail, path)[-3:])
            raise MediaError(
                f"{path}: ffmpeg could not decode the file (exit {stats.returncode}): {detail}",
                path=path,
                hint="the file is damaged or not a supported format; re-export or re-copy it",
            )

    def fail(self, exc: BaseException) -> None:
        """A sink failed: stop ffmpeg and the other threads; run() re-raises it."""
        self.failures.append(exc)
        self.stop.set()
        self.proc.kill()

    def _put(self, q: queue.Queue[_Item | None], item: _Item | None) -> bool:
        while not self.stop.is_set():
            try:
                q.put(item, timeout=0.2)
                return True
            except queue.Full:
                continue
        return False

    def _take(self, q: queue.Queue[_Item | None]) -> _Item | None:
        """The next item, or None at the end or once the pass is being stopped."""
        while not self.stop.is_set():
            try:
                return q.get(timeout=0.2)
            except queue.Empty:
                continue
        return None

    def read_stderr(self) -> None:
        assert self.proc.stderr is not None
        stats = self.stats
        for raw in self.proc.stderr:
            line = raw.decode("utf-8", "replace").rstrip()
            mi = _IDET.search(line)
            if mi:
                keys = ("tff", "bff", "progressive", "undetermined")
                stats.idet = {k: int(v) for k, v in zip(keys, mi.groups(), strict=True)}
            elif _ERRORISH.search(line) and not line.lstrip().startswith(("Stream", "Input")):
                stats.decode_errors += 1
            self.tail.append(line)

    def read_video(self) -> None:
        stdout = self.proc.stdout
        assert stdout is not None
        try:
            while not self.stop.is_set():
                planes = self._read_frame(stdout)
                if planes is None:  # end of stream (a partial last frame is dropped)
                    break
                if not self._put(self.video_q, planes):
                    break
        except BaseException as exc:
            self.fail(exc)
        finally:
            self._put(self.video_q, None)
            _drain(stdout)

    def _read_frame(self, stdout: BinaryIO) -> np.ndarray | None:
        """The next frame's Y, Cb, Cr planes, read straight into a fresh array."""
        plan = self.plan
        planes = np.empty((3, plan.height, plan.width), dtype=plan.dtype)
        return planes if _read_into(stdout, planes) else None

    def measure_video(self) -> None:
        on_frame = self.on_frame
        assert on_frame is not None
        index = 0
        try:
            while (planes := self._take(self.video_q)) is not None:
                on_frame(index, planes)
                index += 1
        except BaseException as exc:
            self.fail(exc)
        finally:
            self.stats.frames = index

    def read_audio(self) -> None:
        stats = self.stats
        with os.fdopen(self.audio_fd, "rb", buffering=1 << 20) as fh:
            try:
                rate, channels = _read_wav_header(fh, self.path)
                stats.sample_rate, stats.channels = rate, channels
                if self.on_audio_format is not None:
                    self.on_audio_format(rate, channels)
                if channels > 0:
                    block = max(1, int(rate * AUDIO_BLOCK_S)) * 4 * channels
                    while not self.stop.is_set():
                        chunk = fh.read(block)
                        if not chunk or not self._put(self.audio_q, chunk):
                            break
            except BaseException as exc:
                self.fail(exc)
            finally:
                self._put(self.audio_q, None)
                _drain(fh)

    def measure_audio(self) -> None:
        on_audio = self.on_audio
        assert on_audio is not None
        stats = self.stats
        pending = b""
        try:
            while (chunk := self._take(self.audio_q)) is not None:
                frame_bytes = 4 * stats.channels
                if pending:
                    chunk = pending + chunk
                usable = len(chunk) - len(chunk) % frame_bytes
                pending = chunk[usable:]
                if usable:
                    samples = np.frombuffer(chunk[:usable], dtype="<f4").reshape(-1, stats.channels)
                    stats.audio_frames += samples.shape[0]
                    on_audio(samples)
        except BaseException as exc:
            self.fail(exc)


def _useful_lines(lines: list[str], path: Path) -> list[str]:
    out = []
    for line in lines:
        if _ERRORISH.search(line):
            out.append(line.replace(tools.ffmpeg_input(path), str(path)).strip())
    return out or [lines[-1].strip()] if lines else out


def _grow_pipe(fd: int) -> None:
    """Ask for a larger pipe buffer (Linux F_SETPIPE_SZ); harmless where it is refused."""
    try:
        fcntl.fcntl(fd, getattr(fcntl, "F_SETPIPE_SZ", 1031), PIPE_BYTES)
    except OSError:
        pass


def _read_into(fh: BinaryIO, array: np.ndarray) -> bool:
    """Fill a C-contiguous array from the stream; False at the end of the stream."""
    view = memoryview(array).cast("B")
    got = 0
    while got < len(view):
        n = fh.readinto(view[got:])
        if not n:
            return False
        got += n
    return True


def _drain(fh: BinaryIO) -> None:
    try:
        while fh.read(1 << 20):
            pass
    except (OSError, ValueError):
        pass


def _read_wav_header(fh: BinaryIO, path: Path) -> tuple[int, int]:
    """Parse the RIFF/WAVE header ffmpeg writes on a pipe; returns (sample rate, channels).

    Reading ffmpeg's own header means we never guess how many channels `amerge` produced.
    """
    head = _read_n(fh, 12)
    if len(head) < 12 or head[:4] not in (b"RIFF", b"RF64") or head[8:12] != b"WAVE":
        raise MediaError(f"{path}: the audio could not be decoded", path=path)
    rate = channels = 0
    while True:
        ch = _read_n(fh, 8)
        if len(ch) < 8:
            raise MediaError(f"{path}: the audio could not be decoded", path=path)
        cid, size = ch[:4], struct.unpack("<I", ch[4:])[0]
        if cid == b"data":
            return rate, channels
        body = _read_n(fh, size + (size & 1))
        if cid == b"fmt ":
            channels, rate = struct.unpack("<HI", body[2:8])


def _read_n(fh: BinaryIO, n: int) -> bytes:
    data = b""
    while len(data) < n:
        chunk = fh.read(n - len(data))
        if not chunk:
            break
        data += chunk
    return data
