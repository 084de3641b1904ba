"""Small helpers every generator module shares: one ffmpeg entry point, deterministic flags,
raw-audio inputs and an ebur128 reader.

Every ffmpeg call goes through `pipeline.tools.run` (argument lists, logged, ToolError on
failure); file names go through `ffmpeg_input` so a leading '-' or a ':' stays literal.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from pipeline.tools import ToolResult, ffmpeg_exe, ffmpeg_input, run

# One fixed shoot day for every card, so the bytes never depend on the clock.
SHOOT_DATE = "2026-11-22"
CREATION_TIME = f"{SHOOT_DATE}T14:23:10Z"
SAMPLE_RATE = 48000
FPS = 25

# Deterministic container/codec output: no encoder version strings, no random UIDs (MXF),
# no metadata copied from lavfi inputs, and an explicit creation time.
BITEXACT_OUT = [
    "-fflags",
    "+bitexact",
    "-map_metadata",
    "-1",
    "-metadata",
    f"creation_time={CREATION_TIME}",
]
# Colour tags set on the frames as well: since ffmpeg 7 the encoder takes them from the frames,
# and output-side -color_* options alone were ignored for ProRes in our tests.
# Convert with the BT.709 matrix (swscale defaults to BT.601, which HD QC rightly flags as a
# 601/709 mix-up), then tag the frames so encoders write matching colour metadata.
BT709_TAGS = "setparams=color_primaries=bt709:color_trc=bt709:colorspace=bt709:range=tv"
BT709_FRAMES = f"scale=out_color_matrix=bt709:out_range=tv,{BT709_TAGS}"
BT709_OUT = ["-color_primaries", "bt709", "-color_trc", "bt709", "-colorspace", "bt709"]


def ffmpeg(args: list[str], *, what: str, path: Path, loglevel: str = "error") -> ToolResult:
    """Run ffmpeg with the house defaults (no stdin, no banner, overwrite inside our temp dir)."""
    cmd = [ffmpeg_exe(), "-hide_banner", "-nostdin", "-nostats", "-loglevel", loglevel, "-y"]
    return run([*cmd, *args], what=what, path=path)


def out(path: Path) -> str:
    """An ffmpeg output spec that is never mistaken for an option."""
    return ffmpeg_input(path)


def write_raw_f32(path: Path, samples: np.ndarray) -> None:
    """Write float32 samples (frames x channels, or mono) as raw little-endian interleaved."""
    np.ascontiguousarray(samples, dtype="<f4").tofile(path)


def raw_input(path: Path, channels: int) -> list[str]:
    """ffmpeg input arguments for a raw float32 file written by write_raw_f32."""
    return ["-f", "f32le", "-ar", str(SAMPLE_RATE), "-ac", str(channels), "-i", out(path)]


@dataclass(frozen=True)
class Loudness:
    """ebur128 summary: integrated loudness, loudness range and true peak."""

    integrated_lufs: float
    lra_lu: float
    true_peak_dbtp: float


_NUM = r"(-?inf|-?\d+(?:\.\d+)?)"


def parse_ebur128(stderr: str) -> Loudness:
    """Read the Summary block ffmpeg's ebur128 filter prints at the end (info log level)."""
    summary = stderr[stderr.rfind("Summary:") :]
    i = re.search(r"I:\s+" + _NUM + r" LUFS", summary)
    lra = re.search(r"LRA:\s+" + _NUM + r" LU", summary)
    tp = re.search(r"True peak:\s+Peak:\s+" + _NUM + r" dBFS", summary)
    if not (i and lra and tp):
        raise ValueError("no ebur128 summary in ffmpeg output:\n" + stderr[-800:])
    return Loudness(float(i.group(1)), float(lra.group(1)), float(tp.group(1)))


def measure_loudness(inputs: list[str], graph: str, *, path: Path) -> Loudness:
    """Measure with ffmpeg `ebur128=peak=true`; `graph` ends where ebur128 is appended."""
    res = ffmpeg(
        [*inputs, "-filter_complex", f"{graph}ebur128=peak=true", "-f", "null", "-"],
        what="measuring the loudness of",
        path=path,
        loglevel="info",
    )
    return parse_ebur128(res.stderr)


def pink_noise(n: int, rng: np.random.Generator) -> np.ndarray:
    """Pink (1/f power) noise normalised to RMS 1, shaped in the frequency domain (fast)."""
    spec = np.fft.rfft(rng.standard_normal(n))
    f = np.arange(spec.size, dtype=np.float64)
    f[0] = 1.0
    spec /= np.sqrt(f)
    spec[0] = 0.0
    x = np.fft.irfft(spec, n)
    return x / np.sqrt(np.mean(x**2))


def rms_dbfs(x: np.ndarray) -> float:
    """RMS level of a signal in dBFS (full-scale sine reads −3.01)."""
    r = float(np.sqrt(np.mean(np.asarray(x, dtype=np.float64) ** 2)))
    return -float("inf") if r == 0 else round(20 * np.log10(r), 2)


def tc_to_frames(tc: str, fps: int = FPS) -> int:
    """'HH:MM:SS:FF' (non-drop) to a frame count since midnight."""
    h, m, s, f = (int(p) for p in tc.split(":"))
    return ((h * 60 + m) * 60 + s) * fps + f


def frames_to_tc(frames: int, fps: int = FPS) -> str:
    """A frame count since midnight to 'HH:MM:SS:FF' (non-drop)."""
    s, f = divmod(frames, fps)
    m, s = divmod(s, 60)
    h, m = divmod(m, 60)
    return f"{h:02d}:{m:02d}:{s:02d}:{f:02d}"
