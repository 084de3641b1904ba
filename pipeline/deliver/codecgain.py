"""Lossy audio codecs change loudness: measure the encoded sound and correct the gain for it.

The normalised WAV is on target, but an AAC encode of it is not: the encoder's low-pass takes
high-frequency energy away (about 0.4 LU on bright programme) and inter-sample peaks grow. The
promise (±0.1 LU of target, under the true-peak ceiling) is about the deliverable, so for a
lossy codec the sound is encoded on its own first (the deliverable's exact audio graph and
encoder settings, into a small temporary Matroska file), decoded and measured with our meter
(pipeline.qc.loudness, the programme channels QC measures), and the gain is corrected by the
difference until the encoded sound is within `AIM_LU`. The picture is then encoded once, with
the corrected sound. PCM deliverables need none of this.

When the correction would put the encoded sound over the true-peak ceiling, this says by how
much (`over_ceiling_db`): the caller then normalises again with that much codec headroom (the
limiter does the rest) and checks again.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from pipeline.deliver.encode import run_encode
from pipeline.deliver.graph import Sources, build_audio_command
from pipeline.deliver.spec import Plan
from pipeline.qc.decode import decode_pass, probe_layout
from pipeline.qc.loudness import LoudnessMeter, weights_for_layout

LOSSLESS_PREFIXES = ("pcm_", "flac", "alac", "mlp", "truehd", "wavpack", "tta", "s302m")
AIM_LU = 0.05  # the promise is 0.1 LU; aim well inside it
MAX_PROBES = 3


def is_lossy(codec: str) -> bool:
    """True for codecs whose decoded sound differs from what went in (AAC, MP3, Opus, AC-3...)."""
    return not codec.lower().startswith(LOSSLESS_PREFIXES)


@dataclass
class CodecCheck:
    """What the lossy encode does to the sound, and the gain that puts it back on target."""

    gain_db: float  # extra gain on the normalised sound, before the encoder
    first_lufs: float | None  # the encoded sound at gain 0: what the codec alone does
    lufs: float | None  # the encoded sound at `gain_db` (the last probe)
    true_peak_dbtp: float | None  # of the encoded sound at `gain_db`, every delivered channel
    probes: int
    elapsed_s: float
    over_ceiling_db: float = 0.0  # > 0: the correction needs this much codec headroom

    def note(self, codec: str, target: float, offset_lu: float = 0.0) -> str:
        """`offset_lu`: what the sound was already raised by for this codec (a second pass)."""
        moved = (self.first_lufs - (target + offset_lu)) if self.first_lufs is not None else 0.0
        lufs = f"{self.lufs:.2f} LUFS" if self.lufs is not None else "silent"
        tp = f"{self.true_peak_dbtp:.2f} dBTP" if self.true_peak_dbtp is not None else "no peak"
        return (
            f"{codec} encode measured on its own ({self.probes} audio-only encode(s), our meter): "
            f"the codec moves the loudness by {moved:+.2f} LU; corrected by "
            f"{offset_lu + self.gain_db:+.2f} dB before the encoder: {lufs}, {tp} after the "
            f"codec (target {target:g} LUFS)"
        )


def measure_encoded(path: Path, prog: list[int], layout: str) -> tuple[float | None, float | None]:
    """Integrated loudness of the programme channels and true peak of every channel, decoded."""
    lay = probe_layout(path)
    state: dict[str, LoudnessMeter] = {}

    def on_format(rate: int, channels: int) -> None:
        weights = [0.0] * channels
        chosen = [c for c in prog if c < channels] or list(range(channels))
        for c, w in zip(chosen, weights_for_layout(layout, len(chosen)), strict=True):
            weights[c] = w
        state["meter"] = LoudnessMeter(rate, weights, true_peak=True)

    def on_audio(block: np.ndarray) -> None:
        state["meter"].add(block)

    decode_pass(lay, on_frame=None, on_audio=on_audio, on_audio_format=on_format)
    if "meter" not in state:
        return None, None
    res = state["meter"].result()
    return res.integrated_lufs, res.true_peak_dbtp


def check_codec(
    plan: Plan,
    src: Sources,
    work: Path,
    *,
    target: float,
    ceiling: float,
    prog: list[int],
    layout: str,
) -> CodecCheck:
    """Encode the sound alone, measure, correct the gain; repeat until within AIM_LU."""
    started = time.monotonic()
    probe = work / "codec-probe.mka"
    gain, first = 0.0, None
    il = tp = None
    probes = 0
    for probes in range(1, MAX_PROBES + 1):
        trial = Sources(src.master, src.audio, None, src.size, gain_db=gain)
        cmd = build_audio_command(plan, trial, probe)
        run_encode(cmd, probe, what=f"encoding the sound of {src.master} on its own")
        il, tp = measure_encoded(probe, prog, layout)
        probe.unlink(missing_ok=True)
        if il is None:  # silent programme: nothing to correct
            break
        first = il if first is None else first
        err = target - il
        if abs(err) <= AIM_LU or probes == MAX_PROBES:
            break
        if tp is not None and tp + err > ceiling:
            over = round(tp + err - ceiling, 3)
            return CodecCheck(gain, first, il, tp, probes, _since(started), over)
        gain = round(gain + err, 4)
    over = max(0.0, (tp or -200.0) - ceiling)
    return CodecCheck(gain, first, il, tp, probes, _since(started), round(over, 3))


def _since(t0: float) -> float:
    return round(time.monotonic() - t0, 3)
