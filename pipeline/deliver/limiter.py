"""A look-ahead true-peak limiter, as a mastering limiter works, for loudness normalisation.

It is only used when one linear gain would push the programme over its true-peak ceiling, and
whoever calls it reports that it acted and by how much (`LimiterStats`).

How the gain is made, per sample and linked over all channels (so the stereo image and the
balance between tracks never move):

1. detection on the oversampled signal: the interpolator of our BS.1770 meter
   (`pipeline.qc.loudness.true_peak_filter`, 8x polyphase at 48 kHz) gives the inter-sample
   values; the largest over channels and phases,
   within one sample of each sample, is its peak (`peak_track`, computed once per programme);
2. the gain each sample needs (dB, <= 0) to stay under the threshold;
3. release: the gain may rise by at most `release_db_per_s` (a cumulative minimum under a
   rising line, so it never comes back up faster than that);
4. look-ahead: a minimum over the next 2L-1 samples, then two moving averages of L samples: the
   gain starts falling about L samples before a peak along a smooth (quadratic) curve and is
   guaranteed to be at or below the needed gain on the peak itself (every value averaged comes
   from a window that contains it).

The audio is processed in blocks read from an array (a memory map of the decoded programme):
each block is read with enough context on both sides that the result does not depend on the
block size, and the only state carried between blocks is the release curve's last value.
Blocks whose input peak cannot reach the threshold skip the oversampling (an exact bound).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy import ndimage, signal

from pipeline.qc.loudness import true_peak_filter

LOOKAHEAD_S = 0.005  # the gain starts falling this long before a peak (attack)
RELEASE_DB_PER_S = 100.0  # 6 dB of gain reduction recovers in 60 ms
BLOCK_FRAMES = 1 << 15  # ~0.7 s at 48 kHz
ACTIVE_DB = 0.05  # gain reduction counted as "limiting" in the statistics


@dataclass
class LimiterStats:
    """What the limiter did: the report's numbers."""

    max_gain_reduction_db: float = 0.0
    limited_frames: int = 0  # samples whose gain was reduced by more than ACTIVE_DB
    frames: int = 0
    max_at_frame: int | None = None


class TruePeakLimiter:
    """Linked look-ahead limiter with oversampled (true-peak) detection."""

    def __init__(
        self,
        sample_rate: int,
        channels: int,
        *,
        threshold_dbtp: float,
        lookahead_s: float = LOOKAHEAD_S,
        release_db_per_s: float = RELEASE_DB_PER_S,
    ) -> None:
        self.sample_rate = sample_rate
        self.channels = channels
        self.threshold_dbtp = threshold_dbtp
        self.lookahead_s = lookahead_s
        self.release_db_per_s = release_db_per_s
        self.factor, poly = true_peak_filter(sample_rate)
        self.taps = poly.shape[0]
        # Filters per phase as convolution kernels (oldest sample last): (phases, taps).
        # Every phase of the meter's interpolator (8x at 48 kHz): detection then sees what the
        # verifying meter sees. 4x (every other phase) halved the detection time but let peaks
        # through that cost extra passes (7 instead of 4 on the bench programme).
        self._kernels = np.ascontiguousarray(poly[::-1].T, dtype=np.float32)
        # The pass-through phase is a unit impulse at row j0: output n is input n - (T-1-j0).
        passthrough = int(np.argmax(np.abs(poly).max(axis=0) == np.abs(poly).max()))
        j0 = int(np.argmax(poly[:, passthrough]))
        self.delay = self.taps - 1 - j0
        self.tp_gain = float(np.abs(poly).sum(axis=0).max())  # largest phase output for |x|<=1
        self.half = max(1, round(lookahead_s * sample_rate / 2))  # L
        self.hold = 2 * self.half - 1  # H
        self.context = self.hold - 1  # C = F = 2L - 2 samples each side
        self.release_step = release_db_per_s / sample_rate

    def peak_track(self, source: np.ndarray, dest: Path) -> np.ndarray:
        """Oversampled peak around every sample (max over channels), as a float32 memory map.

        It does not depend on the gain or the threshold, so the passes that correct the gain
        reuse it (4 bytes per sample on disk, whatever the channel count).
        """
        frames = source.shape[0]
        track = np.lib.format.open_memmap(dest, mode="w+", dtype=np.float32, shape=(frames,))
        for a in range(0, frames, BLOCK_FRAMES):
            b = min(frames, a + BLOCK_FRAMES)
            track[a:b] = self._around(source, a, b)
        track.flush()
        return track

    def process(
        self,
        source: np.ndarray,
        gain_db: float,
        *,
        peaks: np.ndarray | None = None,
        block_frames: int = BLOCK_FRAMES,
    ) -> Iterator[tuple[np.ndarray, LimiterStats]]:
        """Yield `source * gain`, limited, in blocks of (frames, channels) float32.

        `source` is (frames, channels) float (a memory map is fine: it is read block by block);
        `peaks` the `peak_track()` of it, else detection runs here. Each yielded block comes
        with the running statistics (the same object, updated).
        """
        frames = source.shape[0]
        gain = 10.0 ** (gain_db / 20.0)
        stats = LimiterStats(frames=frames)
        carry = 0.0  # release curve (dB) just before the block's context
        a = 0
        while a < frames:
            b = min(frames, a + block_frames)
            env = self._envelope(source, peaks, a, b, gain, carry)
            carry = float(env[b - a - 1]) if env is not None else 0.0
            out = np.asarray(source[a:b], dtype=np.float32) * np.float32(gain)
            if env is not None and env.min() < 0.0:
                g_db = self._smooth(env)
                self._count(stats, g_db, a)
                out *= np.power(10.0, g_db / 20.0).astype(np.float32)[:, None]
            yield out, stats
            a = b

    # ------------------------------------------------------------------ gain curve

    def _around(self, source: np.ndarray, lo: int, hi: int) -> np.ndarray:
        """Largest oversampled |value| over channels within one sample of each of [lo, hi)."""
        x = _slice(source, lo + self.delay - 1 - (self.taps - 1), hi + self.delay + 1)
        n = hi - lo
        if not x.any():
            return np.zeros(n, dtype=np.float32)
        pk = self._oversampled_peak(x)  # output j is the signal around sample lo - 1 + j
        return np.maximum(np.maximum(pk[0:n], pk[1 : n + 1]), pk[2 : n + 2]).astype(np.float32)

    def _envelope(
        self,
        source: np.ndarray,
        peaks: np.ndarray | None,
        a: int,
        b: int,
        gain: float,
        carry: float,
    ) -> np.ndarray | None:
        """Release-limited needed gain (dB) over [a - C, b + C); None when it is all 0 dB."""
        lo, hi = a - self.context, b + self.context
        threshold = 10.0 ** (self.threshold_dbtp / 20.0)
        if peaks is not None:
            around: np.ndarray | None = _slice(peaks[:, None], lo, hi)[:, 0]
            reach = float(around.max()) * gain
        else:
            around = None
            x = _slice(source, lo - self.taps, hi + self.delay + 1)
            reach = float(np.abs(x).max()) * gain * self.tp_gain  # an exact upper bound
        if reach <= threshold and carry >= 0.0:
            return None  # no inter-sample value can reach the threshold, nothing to release
        needed = np.zeros(hi - lo, dtype=np.float64)
        if reach > threshold:
            if around is None:
                around = self._around(source, lo, hi)
            with np.errstate(divide="ignore"):
                level = 20.0 * np.log10(np.maximum(around.astype(np.float64) * gain, 1e-12))
            needed = -np.maximum(level - self.threshold_dbtp, 0.0)
        # Release: env[i] = min(carry + s (i+1), min_k<=i needed[k] + s (i-k)).
        s = self.release_step
        ramp = s * np.arange(needed.shape[0], dtype=np.float64)
        env = ramp + np.minimum(np.minimum.accumulate(needed - ramp), carry + s)
        return np.minimum(env, 0.0)

    def _oversampled_peak(self, x: np.ndarray) -> np.ndarray:
        """Largest |value| over channels and phases at each output index (valid part only)."""
        y = signal.fftconvolve(
            x.T.astype(np.float32)[:, None, :], self._kernels[None, :, :], mode="valid", axes=-1
        )
        return np.abs(y).max(axis=(0, 1)).astype(np.float64)

    def _smooth(self, env: np.ndarray) -> np.ndarray:
        """Look-ahead hold (min over 2L-1) then two L-sample moving averages: gain for [a, b)."""
        h, half = self.hold, self.half
        r = (h - 1) // 2
        held = ndimage.minimum_filter1d(env, size=h, mode="nearest")[r : env.shape[0] - r]
        return _moving_average(_moving_average(held, half), half)

    def _count(self, stats: LimiterStats, g_db: np.ndarray, a: int) -> None:
        reduction = float(-g_db.min())
        if reduction > stats.max_gain_reduction_db:
            stats.max_gain_reduction_db = reduction
            stats.max_at_frame = a + int(np.argmin(g_db))
        stats.limited_frames += int(np.count_nonzero(g_db < -ACTIVE_DB))


def _moving_average(x: np.ndarray, n: int) -> np.ndarray:
    """Forward moving average: out[t] = mean(x[t : t + n]), 'valid' length len(x) - n + 1."""
    csum = np.concatenate([[0.0], np.cumsum(x)])
    return (csum[n:] - csum[:-n]) / n


def _slice(source: np.ndarray, lo: int, hi: int) -> np.ndarray:
    """source[lo:hi] with silence outside the programme: (hi - lo, channels) float32."""
    frames, channels = source.shape
    out = np.zeros((hi - lo, channels), dtype=np.float32)
    s_lo, s_hi = max(lo, 0), min(hi, frames)
    if s_hi > s_lo:
        out[s_lo - lo : s_hi - lo] = source[s_lo:s_hi]
    return out
