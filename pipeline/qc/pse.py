"""Photosensitive epilepsy (PSE) beyond the 3-flash rule: extended flashing and regular patterns.

This is an open approximation of the ITU-R BT.1702 / Ofcom criteria, written from the published
rules. It is **not a Harding-certified test** (Harding FPA) and cannot replace one where a
broadcaster asks for a certificate.

Extended flashing (Ofcom guidance on flashing images): flashing at rates of 2-3 flashes per
second, within the 3-per-second limit, is still a risk when sustained; a sequence flashing at
2 per second or more for longer than 5 s is reported.

Regular patterns (Ofcom guidance; Wilkins, Emmett & Harding, "Characterizing the patterned
images that precipitate seizures and optimizing guidelines to prevent them", Epilepsia 2005):
clearly discernible stripes, more than five light-dark pairs in any orientation, bright stripes
of 50 cd/m² or more, over more than a quarter of the screen, lasting more than 0.5 s.

How patterns are found, on the luminance (cd/m²) of the reduced picture every 0.25 s (the frames
of the PATTERN_EVERY_S grid, and the ones halfway between where a neighbour shows a pattern):
the strongest spatial frequency of the frame (2-D FFT, frequencies giving more than five pairs
across the screen) is demodulated locally: each pixel gets the amplitude of that frequency in a
box of about three periods around it, and the share of the local variance it explains. A pixel
belongs to a pattern where that share is high (a periodic signal, not an edge or texture), the
light-dark difference is at least PATTERN_CONTRAST_CD_M2 and the light stripes reach
PATTERN_BRIGHT_CD_M2. The pattern's area is the share of such pixels; its pair count is the
frequency times the pattern's extent along the stripes' normal.

Resolution. The reduced picture is an area average (a box of W/480 source pixels): a grating of
N light-dark pairs across the width keeps |sinc(N/480)| of its contrast, ≥ 90 % up to 120 pairs
and ≥ 64 % up to 240 (its Nyquist limit at 480 px). At the HD design viewing distance (3 H,
a screen ≈ 33° wide) 240 pairs is 7 cycles/degree, above the 2-4 c/deg where pattern
sensitivity peaks (Wilkins et al.), so a full-contrast grating is found across the hazardous
band; tests/test_qc_pse.py checks a 200-pair grating on a 1920-px master. Finer gratings alias
and are not measured.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

# The pattern grid: a frame every PATTERN_EVERY_S is analysed, and the frame halfway to the
# next one where either shows a hazardous pattern (PictureAnalysis._feed_pattern): spans are
# then those of a sample every PATTERN_EVERY_S / 2 (0.25 s), at about half the cost.
PATTERN_EVERY_S = 0.5
PATTERN_MIN_PAIRS = 5.0  # Ofcom: more than five light-dark pairs
PATTERN_MIN_AREA = 0.25  # more than a quarter of the screen (Wilkins et al.; Ofcom's moving case)
PATTERN_BRIGHT_CD_M2 = 50.0  # the light stripes at least this bright
PATTERN_CONTRAST_CD_M2 = 20.0  # light-dark difference: the flash transition threshold, reused
PATTERN_MIN_DURATION_S = 0.5
# Share of the local variance explained by the one frequency: 0.81 for a square-wave grating,
# 1 for a sine; an edge, colour bars or natural texture stay well below.
PATTERN_SHARE = 0.7
EXTENDED_MIN_RATE = 2.0  # flashes per second
EXTENDED_MIN_S = 5.0
NOT_CERTIFIED = "open approximation, not a Harding-certified test"


@dataclass
class PatternSample:
    frame: int
    area: float  # fraction of the screen covered by the pattern
    pairs: float  # light-dark pairs across the pattern
    contrast_cd_m2: float  # median light-dark difference over the pattern
    period_px: float  # at the analysis width

    @property
    def hazardous(self) -> bool:
        return self.area > PATTERN_MIN_AREA and self.pairs > PATTERN_MIN_PAIRS


# Exact early exit: a pattern pixel needs share >= PATTERN_SHARE with the variance floored at
# (PATTERN_CONTRAST_CD_M2 / 2)², so (A/2)² >= PATTERN_SHARE / 2 · (PATTERN_CONTRAST_CD_M2 / 2)²
# (35 cd²/m⁴), and diff >= PATTERN_CONTRAST_CD_M2, so (A/2)² >= (PATTERN_CONTRAST_CD_M2 / 4)²
# (25). A frame whose local amplitude stays below both everywhere has no pattern pixel: the
# share, the masks and the dilation are skipped (the margin covers float32 rounding).
_AMP2_NEEDED = max(PATTERN_SHARE / 2 * (PATTERN_CONTRAST_CD_M2 / 2) ** 2,
                   (PATTERN_CONTRAST_CD_M2 / 4) ** 2) * (1 - 1e-4)  # fmt: skip
_CARRIERS_KEPT = 8  # demodulation carriers cached per detector (~2 MB each at 480 x 270)


class PatternDetector:
    """Finds the dominant regular pattern of a luminance frame (cd/m², float32, h × w)."""

    def __init__(self, shape: tuple[int, int]) -> None:
        h, w = shape
        self.shape = shape
        self.window = np.outer(np.hanning(h), np.hanning(w)).astype(np.float32)
        half = w // 2 + 1  # non-negative horizontal frequencies: the spectrum is symmetric
        self.ky = np.fft.fftfreq(h) * h  # cycles across the height
        self.kx = np.arange(half, dtype=np.float64)  # cycles across the width
        # cycles along the frequency's direction across the whole screen = |kx| + |ky|
        self.too_coarse = (np.abs(self.ky)[:, None] + self.kx[None, :]) <= PATTERN_MIN_PAIRS
        self.half = half
        self.ys = np.arange(h, dtype=np.float64)
        self.xs = np.arange(w, dtype=np.float64)
        # The peak frequency of ordinary programme repeats from frame to frame: its carrier
        # and the box's response to it are kept rather than rebuilt (same values either way).
        self._carriers: dict[tuple[int, int, int], tuple[np.ndarray, np.ndarray]] = {}
        # Work arrays reused from sample to sample (fresh ~1 MB temporaries cost page faults);
        # every step below is the same float32 operation as the plain formula, written with out=.
        f32 = np.float32
        self._z = np.empty((h, w), f32)
        self._zw = np.empty((h, w), f32)
        self._spec = np.empty((h, w, 2), f32)
        self._power = np.empty((h, half), f32)
        self._power2 = np.empty((h, half), f32)
        self._zc = np.empty((h, w), np.complex64)
        self._local = np.empty((h, w, 2), f32)
        self._local2 = np.empty((h, w, 2), f32)
        self._mean = np.empty((h, w), f32)
        self._local_z = np.empty((h, w), f32)
        self._amp2 = np.empty((h, w), f32)
        self._t = [np.empty((h, w), f32) for _ in range(3)]
        self._b = [np.empty((h, w), bool) for _ in range(2)]

    def _carrier(self, iy: int, ix: int, size: int) -> tuple[np.ndarray, np.ndarray]:
        """exp(-2πi(fx·x + fy·y)) (complex64) and its box average as a 2-channel image."""
        key = (iy, ix, size)
        got = self._carriers.get(key)
        if got is None:
            h, w = self.shape
            fy, fx = float(self.ky[iy]) / h, float(self.kx[ix]) / w
            ey = np.exp(-2j * math.pi * fy * self.ys).astype(np.complex64)
            ex = np.exp(-2j * math.pi * fx * self.xs).astype(np.complex64)
            carrier = ey[:, None] * ex[None, :]
            got = (carrier, cv2.blur(carrier.view(np.float32).reshape(h, w, 2), (size, size)))
            if len(self._carriers) >= _CARRIERS_KEPT:
                self._carriers.pop(next(iter(self._carriers)))
            self._carriers[key] = got
        return got

    def _peak(self, z: np.ndarray) -> tuple[int, int] | None:
        """The strongest frequency with more than PATTERN_MIN_PAIRS cycles across the screen."""
        np.multiply(z, self.window, out=self._zw)
        spec = cv2.dft(self._zw, dst=self._spec, flags=cv2.DFT_COMPLEX_OUTPUT)[:, : self.half]
        power = np.square(spec[..., 0], out=self._power)
        power += np.square(spec[..., 1], out=self._power2)
        power[self.too_coarse] = 0.0
        iy, ix = np.unravel_index(int(np.argmax(power)), power.shape)
        if power[iy, ix] <= 0.0:
            return None
        return int(iy), int(ix)

    def measure(self, frame: int, lum: np.ndarray) -> PatternSample:
        h, w = self.shape
        mean_all = float(lum.mean())
        z = np.subtract(lum, np.float32(mean_all), out=self._z)
        peak = self._peak(z)
        if peak is None:
            return PatternSample(frame, 0.0, 0.0, 0.0, 0.0)
        iy, ix = peak
        fy, fx = float(self.ky[iy]) / h, float(self.kx[ix]) / w  # cycles per pixel
        freq = math.hypot(fx, fy)
        size = int(min(max(3.0 / freq, 6.0), min(h, w) / 2))
        box = (size, size)
        # local amplitude of that frequency: demodulate (a separable complex exponential) and
        # average over the box, both parts at once as a 2-channel image. The local mean times
        # the box's own response to the exponential is taken off: near the picture's edges the
        # box is not a whole number of periods and a flat bright area would leak into it.
        carrier, leak = self._carrier(iy, ix, size)
        zc = np.multiply(z, carrier, out=self._zc).view(np.float32).reshape(h, w, 2)
        local = cv2.blur(zc, box, dst=self._local)
        mean = cv2.blur(lum, box, dst=self._mean)
        local_z = np.subtract(mean, mean_all, out=self._local_z)
        local -= np.multiply(local_z[..., None], leak, out=self._local2)
        t0, t1, t2 = self._t
        amp2 = np.square(local[..., 0], out=self._amp2)  # (A/2)² of the local sinusoid
        amp2 += np.square(local[..., 1], out=t0)
        if float(amp2.max()) < _AMP2_NEEDED:
            return PatternSample(frame, 0.0, 0.0, 0.0, 1.0 / freq)
        var = cv2.blur(np.multiply(z, z, out=t0), box, dst=t1)
        var -= np.square(local_z, out=t0)
        # a sinusoid of amplitude A has variance A²/2 = 2·amp2
        # (floor: the variance of a square wave at the contrast threshold, (20/2)² cd²/m⁴)
        share = np.multiply(amp2, 2.0, out=t0)
        share /= np.maximum(var, (PATTERN_CONTRAST_CD_M2 / 2) ** 2, out=var)
        diff = np.sqrt(amp2, out=t2)
        diff *= 4.0  # 2·A: light-dark difference (a square wave's is 0.79 of it)
        mask, cond = self._b
        np.greater_equal(share, PATTERN_SHARE, out=mask)
        mask &= np.greater_equal(diff, PATTERN_CONTRAST_CD_M2, out=cond)
        bright = np.divide(diff, 2, out=t1)
        bright += mean
        mask &= np.greater_equal(bright, PATTERN_BRIGHT_CD_M2, out=cond)
        if not mask.any():  # nothing to grow: the dilated mask is empty too
            return PatternSample(frame, 0.0, 0.0, 0.0, 1.0 / freq)
        # The box average erodes a pattern by about a third of a box at its edges (a pixel
        # there sees the pattern over part of its box only): grow the mask back by as much.
        grow = int(0.7 * size) | 1
        mask = cv2.dilate(mask.view(np.uint8), np.ones((grow, grow), np.uint8)).view(bool)
        count = int(np.count_nonzero(mask))
        pairs = self._pairs(mask, fx, fy, freq)
        contrast = float(cv2.mean(diff, mask=mask.view(np.uint8))[0])
        return PatternSample(frame, count / mask.size, pairs, contrast, 1.0 / freq)

    def _pairs(self, mask: np.ndarray, fx: float, fy: float, freq: float) -> float:
        """Cycles across the pattern along the stripes' normal (1st-99th percentile extent)."""
        # the phase (in cycles) of every pattern pixel, binned at 1/8 cycle: a histogram is
        # much cheaper than sorting tens of thousands of coordinates
        yy, xx = np.nonzero(mask)
        cyc = fx * self.xs[xx] + fy * self.ys[yy]
        lo = float(cyc.min())
        counts = np.bincount(((cyc - lo) * 8).astype(np.int64))
        cum = np.cumsum(counts) / cyc.size
        first = int(np.searchsorted(cum, 0.01))
        last = int(np.searchsorted(cum, 0.99))
        return (last - first + 1) / 8


def extended_sequences(flashes: list[tuple[int, int]], fps: float) -> list[tuple[int, int, float]]:
    """Runs of flashes at EXTENDED_MIN_RATE per second or more lasting longer than
    EXTENDED_MIN_S: (first frame, one past the last, flashes per second)."""
    gap = fps / EXTENDED_MIN_RATE + 1.0  # one frame of tolerance for rates that fall between
    out: list[tuple[int, int, float]] = []
    i = 0
    while i < len(flashes):
        j = i
        while j + 1 < len(flashes) and flashes[j + 1][0] - flashes[j][0] <= gap:
            j += 1
        start, end = flashes[i][0], flashes[j][1] + 1
        if (end - start) / fps > EXTENDED_MIN_S:
            out.append((start, end, (j - i + 1) * fps / (end - start)))
        i = j + 1
    return out


def pattern_spans(
    samples: list[PatternSample], step: int, fps: float
) -> list[tuple[int, int, PatternSample]]:
    """Consecutive hazardous samples lasting more than PATTERN_MIN_DURATION_S: (first frame,
    one past the last, the sample with the largest area). `step` is the longest gap between
    two consecutive samples of a span."""
    out: list[tuple[int, int, PatternSample]] = []
    run: list[PatternSample] = []
    for s in [*samples, None]:
        if s is not None and s.hazardous and (not run or s.frame - run[-1].frame <= step):
            run.append(s)
            continue
        if run and (run[-1].frame - run[0].frame) / fps >= PATTERN_MIN_DURATION_S:
            worst = max(run, key=lambda r: r.area)
            out.append((run[0].frame, run[-1].frame + step, worst))
        run = [s] if s is not None and s.hazardous else []
    return out
