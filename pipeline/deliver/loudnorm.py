"""Loudness normalisation for deliverables: one linear gain, a true-peak limiter only when needed.

`normalise_audio(master, target_lufs=..., true_peak_max_dbtp=..., work_dir=...)`:

1. decodes all of the master's audio exactly as QC does (`pipeline.qc.decode.decode_pass`: every
   audio stream merged in file order, so 1-based `channels_map` indexes the same channels as a
   profile's `loudness.channels`) into a float32 cache in `work_dir`, measuring it with our
   BS.1770 meter in the same pass, unless the QC measurement of the master is given (then there
   is no analysis: its integrated loudness is used);
2. applies one linear gain to every channel to reach the target;
3. when that gain would put any channel over the true-peak ceiling, runs the look-ahead
   true-peak limiter (`pipeline.deliver.limiter`) on all channels, linked, re-measures the
   result and corrects the gain (a few passes at most) until it is within 0.05 LU of the
   target and under the ceiling; the limiter's action is always in `.notes` and the fields;
4. writes a float32 WAV (RF64 above 4 GB) atomically into `work_dir`.

Memory: everything streams in blocks (0.5 s for the decode, ~0.7 s for the gain and limiter);
the meter keeps ~1.4 MB per programme hour. Disk: the float32 cache of the decoded audio
(4 bytes x channels x samples: 5.5 GB for an hour of 8 tracks at 48 kHz) plus the output WAV of
the same size, both in `work_dir`; the cache is removed before returning.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import struct
from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np
from pydantic import BaseModel, ConfigDict

from pipeline.deliver.limiter import LOOKAHEAD_S, RELEASE_DB_PER_S, LimiterStats, TruePeakLimiter
from pipeline.errors import RushlineError
from pipeline.fsutil import atomic_writer
from pipeline.qc.decode import decode_pass, probe_layout
from pipeline.qc.loudness import LoudnessMeter, LoudnessResult, weights_for_layout

AIM_LU = 0.05  # passes continue until the result is this close (the promise is 0.1 LU)
MAX_PASSES = 8
LIMITER_MARGIN_DB = 0.1  # the limiter aims this far under the ceiling at first
BLOCK_FRAMES = 1 << 15


class NormaliseError(RushlineError):
    """The master's audio cannot be normalised (no audio, silence, unreachable target)."""


class LoudnessReading(BaseModel):
    model_config = ConfigDict(extra="forbid")

    integrated_lufs: float | None
    true_peak_dbtp: float | None
    lra: float | None


class NormalisedAudio(BaseModel):
    """The normalised programme audio and what was done to it (for the delivery note)."""

    model_config = ConfigDict(extra="forbid")

    wav: Path
    sample_rate: int
    channels: int
    frames: int
    programme_channels: list[int]  # 1-based, the measured mix
    target_lufs: float
    true_peak_max_dbtp: float
    gain_db: float
    limiter_used: bool
    max_gain_reduction_db: float
    limited_s: float
    passes: int
    measurement_reused: bool
    measured_before: LoudnessReading
    measured_after: LoudnessReading
    notes: list[str]


def normalise_audio(
    master: Path,
    *,
    target_lufs: float,
    true_peak_max_dbtp: float,
    work_dir: Path,
    channels_map: list[int] | None = None,
    measurement: dict[str, Any] | None = None,
    layout: str | None = None,
) -> NormalisedAudio:
    """Normalise the master's audio to `target_lufs` under `true_peak_max_dbtp`; see the module.

    `channels_map`/`layout` default to the measurement's `channels`/`layout` (QC's loudness
    dict carries them), else all channels with the channel count's BS.1770 layout.
    """
    master = Path(master)
    work_dir = Path(work_dir)
    work_dir.mkdir(parents=True, exist_ok=True)
    if measurement is not None:
        channels_map = channels_map or measurement.get("channels")
        layout = layout or measurement.get("layout")
    cache = work_dir / f".{master.name}.{secrets.token_hex(4)}.decoded.f32"
    peaks = cache.with_suffix(".peaks.npy")
    try:
        rate, channels, frames, meter = _decode(master, cache, channels_map, layout, measurement)
        prog = _programme(master, channels, channels_map)
        window = _window(measurement)
        if measurement is not None:
            before = _reading_from_dict(measurement)
        else:
            assert meter is not None
            before = _reading(meter.result())
        if before.integrated_lufs is None:
            raise NormaliseError(
                f"{master}: the programme audio is silent (no gated loudness); nothing to "
                "normalise",
                path=master,
                hint="check the master's audio tracks and the profile's loudness channels",
            )
        source = np.memmap(cache, dtype="<f4", mode="r", shape=(frames, channels))
        job = _Job(master, work_dir, rate, channels, prog, layout, window, source, peaks)
        result = _solve(job, before, target_lufs, true_peak_max_dbtp)
        result.measurement_reused = measurement is not None
        if measurement is not None:
            result.notes.insert(
                0, "loudness before normalisation taken from the QC measurement (no analysis pass)"
            )
        return result
    finally:
        _unlink(cache)
        _unlink(peaks)


# --------------------------------------------------------------------------- decoding


def _decode(
    master: Path,
    cache: Path,
    channels_map: list[int] | None,
    layout: str | None,
    measurement: dict[str, Any] | None,
) -> tuple[int, int, int, LoudnessMeter | None]:
    """One decode pass into the float32 cache, metered unless a measurement is given."""
    lay = probe_layout(master)
    if not lay.has_audio:
        raise NormaliseError(
            f"{master}: the master has no audio stream; there is nothing to normalise",
            path=master,
            hint="deliver from a master with its programme audio",
        )
    state: dict[str, Any] = {"frames": 0, "meter": None}

    with open(cache, "wb") as fh:

        def on_format(rate: int, channels: int) -> None:
            if channels <= 0:
                raise NormaliseError(f"{master}: the audio has 0 channels", path=master)
            state["rate"], state["channels"] = rate, channels
            if measurement is None:
                prog = _programme(master, channels, channels_map)
                state["meter"] = _meter(rate, channels, prog, layout)

        def on_audio(block: np.ndarray) -> None:
            fh.write(np.ascontiguousarray(block, dtype="<f4").tobytes())
            state["frames"] += block.shape[0]
            if state["meter"] is not None:
                state["meter"].add(block)

        decode_pass(lay, on_frame=None, on_audio=on_audio, on_audio_format=on_format)
    if not state["frames"] or "rate" not in state:
        raise NormaliseError(
            f"{master}: no audio samples could be decoded; there is nothing to normalise",
            path=master,
            hint="check that the master is complete",
        )
    return state["rate"], state["channels"], state["frames"], state["meter"]


def _programme(master: Path, channels: int, channels_map: list[int] | None) -> list[int]:
    """0-based programme channels, as QC's `programme_channels` selects them."""
    if not channels_map:
        return list(range(channels))
    bad = [c for c in channels_map if not 1 <= c <= channels]
    if bad or len(set(channels_map)) != len(channels_map):
        raise NormaliseError(
            f"{master}: programme channels {channels_map} do not fit its {channels} audio "
            "channel(s) (1-based, each once)",
            path=master,
            hint="set the profile's loudness.channels to channels the master has",
        )
    return [c - 1 for c in channels_map]


def _meter(
    rate: int, channels: int, prog: list[int], layout: str | None, *, true_peak: bool = True
) -> LoudnessMeter:
    """A meter over every channel: BS.1770 weights on the programme mix, 0 elsewhere.

    Loudness is the programme's; true peak covers every channel (the ceiling applies to all
    that is delivered).
    """
    weights = [0.0] * channels
    for c, w in zip(prog, weights_for_layout(layout or "auto", len(prog)), strict=True):
        weights[c] = w
    return LoudnessMeter(rate, weights, true_peak=true_peak)


def _window(measurement: dict[str, Any] | None) -> tuple[float | None, float | None] | None:
    """The span QC measured (programme without line-up), to re-measure the result the same way."""
    if not measurement:
        return None
    start, end = measurement.get("window_start_s"), measurement.get("window_end_s")
    duration = measurement.get("duration_s")
    if start is None and end is None:
        return None
    if (start or 0.0) <= 0.0 and (end is None or (duration is not None and end >= duration)):
        return None
    return start, end


def _reading(res: LoudnessResult) -> LoudnessReading:
    return LoudnessReading(
        integrated_lufs=res.integrated_lufs, true_peak_dbtp=res.true_peak_dbtp, lra=res.lra_lu
    )


def _reading_from_dict(m: dict[str, Any]) -> LoudnessReading:
    return LoudnessReading(
        integrated_lufs=m.get("integrated_lufs"),
        true_peak_dbtp=m.get("true_peak_dbtp"),
        lra=m.get("lra_lu", m.get("lra")),
    )


# --------------------------------------------------------------------------- gain and limiter


class _Job:
    """What every pass needs: the decoded programme and where to write."""

    def __init__(
        self,
        master: Path,
        work_dir: Path,
        rate: int,
        channels: int,
        prog: list[int],
        layout: str | None,
        window: tuple[float | None, float | None] | None,
        source: np.ndarray,
        peaks_path: Path,
    ) -> None:
        self.master, self.rate, self.channels = master, rate, channels
        self.prog, self.layout, self.window, self.source = prog, layout, window, source
        self.dest = work_dir / f"{master.stem}.loudnorm.wav"
        self.peaks_path = peaks_path
        self.peaks: np.ndarray | None = None

    def run(
        self, gain_db: float, threshold: float | None, *, write: bool
    ) -> tuple[LoudnessResult, LimiterStats]:
        """One pass: gain (and limiter), measured; written to `dest` (with true peak) if `write`.

        A pass that only finds the gain (`write=False`) skips the true peak and the file.
        """
        meter = _meter(self.rate, self.channels, self.prog, self.layout, true_peak=write)
        if threshold is None:
            blocks: Iterator[tuple[np.ndarray, LimiterStats]] = _gain_only(self.source, gain_db)
        else:
            limiter = TruePeakLimiter(self.rate, self.channels, threshold_dbtp=threshold)
            if self.peaks is None:
                self.peaks = limiter.peak_track(self.source, self.peaks_path)
            blocks = limiter.process(self.source, gain_db, peaks=self.peaks)
        stats = LimiterStats(frames=self.source.shape[0])
        with contextlib.ExitStack() as stack:
            fh = stack.enter_context(atomic_writer(self.dest, overwrite=True)) if write else None
            if fh is not None:
                _write_wav_header(fh, self.rate, self.channels, self.source.shape[0])
            for out, running in blocks:
                if fh is not None:
                    fh.write(out.astype("<f4", copy=False).tobytes())
                meter.add(out)
                stats = running
        full = meter.result()
        if self.window is not None:
            res = meter.result(*self.window)
            res = res.model_copy(update={"true_peak_dbtp": full.true_peak_dbtp})
        else:
            res = full
        return res, stats


def _gain_only(source: np.ndarray, gain_db: float) -> Iterator[tuple[np.ndarray, LimiterStats]]:
    gain = np.float32(10.0 ** (gain_db / 20.0))
    stats = LimiterStats(frames=source.shape[0])
    for a in range(0, source.shape[0], BLOCK_FRAMES):
        yield np.asarray(source[a : a + BLOCK_FRAMES], dtype=np.float32) * gain, stats


def _solve(job: _Job, before: LoudnessReading, target: float, ceiling: float) -> NormalisedAudio:
    """Gain, then limiter passes with gain correction until on target and under the ceiling."""
    assert before.integrated_lufs is not None
    gain = target - before.integrated_lufs
    tp = before.true_peak_dbtp
    threshold = None if tp is None or tp + gain <= ceiling else ceiling - LIMITER_MARGIN_DB
    history: list[tuple[float, float]] = []  # (gain, integrated) of limited passes
    found = False  # the gain of the last limited pass put the loudness on target
    for passes in range(1, MAX_PASSES + 1):
        write = threshold is None or found
        res, stats = job.run(gain, threshold, write=write)
        il, tp_after = res.integrated_lufs, res.true_peak_dbtp
        if il is None:
            break
        on_target = abs(il - target) <= AIM_LU
        over = write and tp_after is not None and tp_after > ceiling
        if write and on_target and not over:
            return _result(job, before, res, stats, gain, threshold, passes, target, ceiling)
        if threshold is None:
            if over:
                # Linear gain overshot the ceiling (a channel outside the measured mix, or a QC
                # true peak that did not cover every channel): the limiter takes over.
                threshold = ceiling - LIMITER_MARGIN_DB
            else:
                gain += target - il  # a measurement of slightly different audio: correct it
            continue
        if over:
            assert tp_after is not None
            threshold -= tp_after - ceiling + 0.02  # a peak got through: lower the threshold
            found = False
            continue
        found = on_target  # then the next pass writes the file with this gain
        if not on_target:
            history.append((gain, il))
            gain += (target - il) / _slope(history)
    _unlink(job.dest)
    raise NormaliseError(
        f"{job.master}: cannot reach {target:g} LUFS under {ceiling:g} dBTP within "
        f"{MAX_PASSES} limiter passes (last pass: {il} LUFS, true peak {tp_after} dBTP)",
        path=job.master,
        hint="the programme is too dense for this target; lower the target or remaster",
    )


def _slope(history: list[tuple[float, float]]) -> float:
    """d(loudness)/d(gain) from the last two limited passes, clamped (1 before there are two)."""
    if len(history) < 2:
        return 1.0
    (g0, l0), (g1, l1) = history[-2], history[-1]
    if abs(g1 - g0) < 1e-6:
        return 1.0
    return min(1.0, max(0.1, (l1 - l0) / (g1 - g0)))


def _result(
    job: _Job,
    before: LoudnessReading,
    after: LoudnessResult,
    stats: LimiterStats,
    gain: float,
    threshold: float | None,
    passes: int,
    target: float,
    ceiling: float,
) -> NormalisedAudio:
    limited_s = stats.limited_frames / job.rate
    used = threshold is not None and stats.max_gain_reduction_db > 0.0
    notes = [
        f"one linear gain of {gain:+.2f} dB on all {job.channels} channel(s): "
        f"{before.integrated_lufs:.1f} LUFS measured, {after.integrated_lufs:.2f} LUFS delivered "
        f"(target {target:g} LUFS)"
    ]
    if used:
        at = (stats.max_at_frame or 0) / job.rate
        notes.append(
            f"a true-peak limiter was applied: max gain reduction "
            f"{stats.max_gain_reduction_db:.1f} dB over {limited_s:.1f} s of programme "
            f"(largest at {at:.2f} s; look-ahead {LOOKAHEAD_S * 1000:.0f} ms, oversampled "
            f"detection, release {RELEASE_DB_PER_S:g} dB/s, threshold {threshold:.2f} dBTP "
            f"for a {ceiling:g} dBTP ceiling; {passes} pass(es))"
        )
    elif threshold is not None:
        notes.append("the true-peak limiter ran but never had to reduce the gain")
    return NormalisedAudio(
        wav=job.dest,
        sample_rate=job.rate,
        channels=job.channels,
        frames=job.source.shape[0],
        programme_channels=[c + 1 for c in job.prog],
        target_lufs=target,
        true_peak_max_dbtp=ceiling,
        gain_db=round(gain, 4),
        limiter_used=used,
        max_gain_reduction_db=round(stats.max_gain_reduction_db if used else 0.0, 3),
        limited_s=round(limited_s if used else 0.0, 3),
        passes=passes,
        measurement_reused=False,
        measured_before=before,
        measured_after=_reading(after),
        notes=notes,
    )


def _unlink(path: Path) -> None:
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)


# --------------------------------------------------------------------------- WAV writing

_FLOAT_GUID = bytes.fromhex("0300000000001000800000aa00389b71")  # KSDATAFORMAT_SUBTYPE_IEEE_FLOAT
RIFF_LIMIT = 0xFFFFFFFF


def _write_wav_header(fh: BinaryIO, rate: int, channels: int, frames: int) -> None:
    """A float32 WAV header: WAVE_FORMAT_EXTENSIBLE, RF64 (EBU Tech 3306) above 4 GB.

    The RIFF version carries a JUNK chunk where RF64 has its ds64, so both headers have the
    same size (the usual way to let a writer switch to RF64).
    """
    block_align = 4 * channels
    data_size = frames * block_align
    fmt = struct.pack(
        "<HHIIHHHHI16s",
        0xFFFE,  # WAVE_FORMAT_EXTENSIBLE
        channels,
        rate,
        rate * block_align,
        block_align,
        32,
        22,  # cbSize
        32,  # valid bits
        0,  # channel mask: not declared (tracks, not speakers)
        _FLOAT_GUID,
    )
    fact = struct.pack("<4sII", b"fact", 4, min(frames, RIFF_LIMIT))
    header_rest = b"fmt " + struct.pack("<I", len(fmt)) + fmt + fact
    riff_size = 4 + (8 + 28) + len(header_rest) + 8 + data_size
    if riff_size <= RIFF_LIMIT:
        fh.write(struct.pack("<4sI4s", b"RIFF", riff_size, b"WAVE"))
        fh.write(b"JUNK" + struct.pack("<I", 28) + bytes(28))
        fh.write(header_rest + b"data" + struct.pack("<I", data_size))
        return
    ds64 = struct.pack("<QQQI", riff_size, data_size, frames, 0)
    fh.write(struct.pack("<4sI4s", b"RF64", RIFF_LIMIT, b"WAVE"))
    fh.write(b"ds64" + struct.pack("<I", len(ds64)) + ds64)
    fh.write(header_rest + b"data" + struct.pack("<I", RIFF_LIMIT))
