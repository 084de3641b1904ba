"""EBU Tech 3341 (v4, 2023) and Tech 3342 (v4, 2023) conformance signals, synthesised.

Used by tests/test_loudness_ebu.py and bench/bench_loudness.py. A plain module: no tests here.

Where each definition comes from (the EBU PDFs themselves are not in the search index):
- Levels, durations and expected readings of 3341 cases 1-6, 9, 12 and 3342 cases 1-4 are the
  ones of the Tech 3341/3342 tables as reproduced by two independent public implementations
  (nocarryr/lupy tests/compliance_cases.py, eko/qc internal/audiotest/conformance.go), which
  agree with each other and with the durations of the EBU test-set files (e.g. case 9: 15 s,
  case 12: 10 s). "dBFS" is the sine's peak level: a stereo 1 kHz sine at -23 dBFS reads
  -23 LUFS.
- True-peak cases 15-19: sine at fs/4, fs/4, fs/6, fs/8, fs/4 with starting phase 0, 45, 60,
  67.5, 45 degrees, amplitude 0.5 (-6.02 dBFS) or 1.41 (+2.98 dBFS) for case 19; the sample
  peaks this gives (-6.0, -9.0, -7.3, -6.7, 0.0 dBFS) match the EBU files' as logged by a
  third-party meter.
- Cases 10, 11, 13, 14 are, in the EBU test set, 20 files (10, 13) or 20 segments (11, 14)
  each holding one 1 kHz tone burst: 3 s long for the short-term cases (10, 11) and 0.4 s for
  the momentary cases (13, 14), at -23 dBFS (10, 13) or at -38, -37 ... -19 dBFS in successive
  segments (11, 14). The text gives the expected maxima, not the bursts' sample offsets: the
  case-10 file lengths (3 to 6 s) fit a start delayed by 0.15 s per file, which we use; for
  case 13 we sweep the burst start across 0-95 ms of a 100 ms grid in 5 ms steps, which is
  the property the case tests (a meter refreshed every 100 ms misses up to 0.6 LU).
  Segments are 6 s (11) and 0.8 s (14): burst then silence.
- Cases 20-23 of the EBU set are recorded signals with no sample-level definition in the text,
  so they cannot be synthesised from it. In their place we use four band-limited signals
  whose continuous-time peak is computed analytically and scaled to exactly 0 dBTP, the
  reading the four EBU cases expect, with sample peaks 0.1 to 3 dB below it like the EBU
  files: a 20 kHz tone near the band edge, an fs/4 tone with samples 2.5 dB under the crest,
  a 5 + 15 kHz two-tone and Hann-windowed 19 kHz bursts. They are labelled "20*"-"23*".
- Cases 7 and 8 (and 3342 cases 5 and 6) are excerpts of real programmes distributed as
  files; they are not synthesisable and are left out on purpose.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

RATE = 48000
TONE_HZ = 1000.0

# Published tolerances.
LOUDNESS_TOL = 0.1  # Tech 3341: M, S, I within +-0.1 LU
LRA_TOL = 1.0  # Tech 3342: +-1 LU
TP_ABOVE, TP_BELOW = 0.2, 0.4  # Tech 3341: true peak +0.2 / -0.4 dB


@dataclass(frozen=True)
class Check:
    """One expected reading.

    measure:
      "I", "LRA", "TP", "M_max", "S_max": the meter's single reading;
      "M_const", "S_const": every series value after `after_s` (the value furthest off counts);
      "M_segments", "S_segments": the maximum within each successive `segment_s` span,
      compared one by one with `want` (a list).
    """

    measure: str
    want: float | tuple[float, ...]
    below: float
    above: float
    after_s: float = 0.0
    segment_s: float = 0.0

    def tolerance(self) -> str:
        if self.below == self.above:
            return f"±{self.above:g}"
        return f"+{self.above:g}/−{self.below:g}"


@dataclass(frozen=True)
class EbuCase:
    """A conformance signal and the readings its specification expects."""

    name: str  # "3341-13-07"
    description: str
    weights: tuple[float, ...]
    make: Callable[[int], np.ndarray] = field(repr=False)  # rate -> (frames, channels)
    checks: tuple[Check, ...]


def loudness(measure: str, want: float, **kw: float) -> Check:
    return Check(measure, want, LOUDNESS_TOL, LOUDNESS_TOL, **kw)


# --------------------------------------------------------------------------- builders


def tones(rate: int, segments: list[tuple[float | None, float]], hz: float = TONE_HZ) -> np.ndarray:
    """A mono 1 kHz sine through successive (level dBFS or None for silence, seconds) segments.

    The oscillator runs continuously so level changes do not break the phase, as in the EBU
    files; segment edges are rounded to whole samples.
    """
    bounds = np.round(np.cumsum([0.0] + [d for _, d in segments]) * rate).astype(int)
    gain = np.zeros(bounds[-1])
    for (level, _), a, b in zip(segments, bounds[:-1], bounds[1:], strict=True):
        if level is not None:
            gain[a:b] = 10.0 ** (level / 20.0)
    t = np.arange(bounds[-1]) / rate
    return gain * np.sin(2.0 * np.pi * hz * t)


def stereo(mono: np.ndarray) -> np.ndarray:
    return np.stack([mono, mono], axis=1)


def stereo_tones(*segments: tuple[float | None, float]) -> Callable[[int], np.ndarray]:
    return lambda rate: stereo(tones(rate, list(segments)))


def fade(x: np.ndarray, rate: int, seconds: float = 0.1) -> np.ndarray:
    """Raised-cosine fade in and out: a sine switched on abruptly at a non-zero phase carries a
    step whose interpolation rings (Gibbs) above the steady peak the case is about."""
    n = int(seconds * rate)
    ramp = 0.5 - 0.5 * np.cos(np.pi * np.arange(n) / n)
    y = x.copy()
    y[:n] *= ramp
    y[-n:] *= ramp[::-1]
    return y


def fraction_sine(rate: int, divisor: float, phase_deg: float, amplitude: float) -> np.ndarray:
    """A 3 s sine at rate/divisor starting at `phase_deg`, faded in and out."""
    n = 3 * rate
    k = np.arange(n)
    x = amplitude * np.sin(2.0 * np.pi * k / divisor + np.deg2rad(phase_deg))
    return fade(x, rate)


# --------------------------------------------------------------------------- Tech 3341

STEREO = (1.0, 1.0)
FIVE_ZERO = (1.0, 1.0, 1.0, 1.41, 1.41)  # L R C Ls Rs


def _case6(rate: int) -> np.ndarray:
    seg = 20.0
    return np.stack(
        [
            tones(rate, [(-28, seg)]),
            tones(rate, [(-28, seg)]),
            tones(rate, [(-24, seg)]),
            tones(rate, [(-30, seg)]),
            tones(rate, [(-30, seg)]),
        ],
        axis=1,
    )


def _burst_file(delay_s: float, burst_s: float, tail_s: float) -> Callable[[int], np.ndarray]:
    segments: list[tuple[float | None, float]] = []
    if delay_s > 0:
        segments.append((None, delay_s))
    segments += [(-23.0, burst_s), (None, tail_s)]
    return stereo_tones(*segments)


def _stepped_bursts(burst_s: float, segment_s: float) -> Callable[[int], np.ndarray]:
    segments: list[tuple[float | None, float]] = []
    for level in range(-38, -18):
        segments += [(float(level), burst_s), (None, segment_s - burst_s)]
    return stereo_tones(*segments)


def tech3341_cases() -> list[EbuCase]:
    """Tech 3341 cases 1-6, 9-19 as specified, and band-limited stand-ins 20*-23*."""
    cases = [
        EbuCase(
            "3341-1",
            "stereo 1 kHz, -23 dBFS, 20 s",
            STEREO,
            stereo_tones((-23, 20)),
            (
                loudness("M_const", -23, after_s=0.4),
                loudness("S_const", -23, after_s=3.0),
                loudness("I", -23),
            ),
        ),
        EbuCase(
            "3341-2",
            "stereo 1 kHz, -33 dBFS, 20 s",
            STEREO,
            stereo_tones((-33, 20)),
            (
                loudness("M_const", -33, after_s=0.4),
                loudness("S_const", -33, after_s=3.0),
                loudness("I", -33),
            ),
        ),
        EbuCase(
            "3341-3",
            "stereo 1 kHz, -36 / -23 / -36 dBFS for 10 / 60 / 10 s",
            STEREO,
            stereo_tones((-36, 10), (-23, 60), (-36, 10)),
            (loudness("I", -23),),
        ),
        EbuCase(
            "3341-4",
            "stereo 1 kHz, -72 / -36 / -23 / -36 / -72 dBFS for 10 / 10 / 60 / 10 / 10 s",
            STEREO,
            stereo_tones((-72, 10), (-36, 10), (-23, 60), (-36, 10), (-72, 10)),
            (loudness("I", -23),),
        ),
        EbuCase(
            "3341-5",
            "stereo 1 kHz, -26 / -20 / -26 dBFS for 20 / 20.1 / 20 s",
            STEREO,
            stereo_tones((-26, 20), (-20, 20.1), (-26, 20)),
            (loudness("I", -23),),
        ),
        EbuCase(
            "3341-6",
            "5.0 1 kHz, 20 s: L, R -28, C -24, Ls, Rs -30 dBFS",
            FIVE_ZERO,
            _case6,
            (loudness("I", -23),),
        ),
        # Cases 7 and 8: authentic programme excerpts (EBU files), not synthesisable.
        EbuCase(
            "3341-9",
            "stereo 1 kHz, 1.34 s at -20 then 1.66 s at -30 dBFS, 5 times",
            STEREO,
            stereo_tones(*([(-20, 1.34), (-30, 1.66)] * 5)),
            (loudness("S_const", -23, after_s=3.0),),
        ),
    ]
    for k in range(1, 21):
        delay = 0.15 * (k - 1)
        cases.append(
            EbuCase(
                f"3341-10-{k:02d}",
                f"stereo 1 kHz, {delay:.2f} s silence, 3 s at -23 dBFS, 1 s silence",
                STEREO,
                _burst_file(delay, 3.0, 1.0),
                (loudness("S_max", -23),),
            )
        )
    cases.append(
        EbuCase(
            "3341-11",
            "stereo 1 kHz, 20 segments of 6 s: 3 s burst at -38, -37 ... -19 dBFS, 3 s silence",
            STEREO,
            _stepped_bursts(3.0, 6.0),
            (
                Check(
                    "S_segments",
                    tuple(float(v) for v in range(-38, -18)),
                    LOUDNESS_TOL,
                    LOUDNESS_TOL,
                    segment_s=6.0,
                ),
            ),
        )
    )
    cases.append(
        EbuCase(
            "3341-12",
            "stereo 1 kHz, 0.18 s at -20 then 0.22 s at -30 dBFS, 25 times",
            STEREO,
            stereo_tones(*([(-20, 0.18), (-30, 0.22)] * 25)),
            (loudness("M_const", -23, after_s=1.0),),
        )
    )
    for k in range(1, 21):
        delay = 0.2 + 0.005 * (k - 1)
        cases.append(
            EbuCase(
                f"3341-13-{k:02d}",
                f"stereo 1 kHz, {delay:.3f} s silence, 0.4 s at -23 dBFS, 0.5 s silence",
                STEREO,
                _burst_file(delay, 0.4, 0.5),
                (loudness("M_max", -23),),
            )
        )
    cases.append(
        EbuCase(
            "3341-14",
            "stereo 1 kHz, 20 segments of 0.8 s: 0.4 s burst at -38 ... -19 dBFS, 0.4 s silence",
            STEREO,
            _stepped_bursts(0.4, 0.8),
            (
                Check(
                    "M_segments",
                    tuple(float(v) for v in range(-38, -18)),
                    LOUDNESS_TOL,
                    LOUDNESS_TOL,
                    segment_s=0.8,
                ),
            ),
        )
    )
    half = 0.5  # -6.02 dBFS
    for name, divisor, phase, amp, want in (
        ("3341-15", 4, 0.0, half, -6.0),
        ("3341-16", 4, 45.0, half, -6.0),
        ("3341-17", 6, 60.0, half, -6.0),
        ("3341-18", 8, 67.5, half, -6.0),
        ("3341-19", 4, 45.0, 1.41, 3.0),
    ):
        cases.append(
            EbuCase(
                name,
                f"stereo sine at fs/{divisor}, {phase:g}° phase, peak {20 * np.log10(amp):+.2f} dB",
                STEREO,
                _tp_maker(divisor, phase, amp),
                (Check("TP", want, TP_BELOW, TP_ABOVE),),
            )
        )
    for name, description, maker in STANDINS:
        cases.append(
            EbuCase(name, description, STEREO, maker, (Check("TP", 0.0, TP_BELOW, TP_ABOVE),))
        )
    return cases


def _tp_maker(divisor: float, phase: float, amp: float) -> Callable[[int], np.ndarray]:
    return lambda rate: stereo(fraction_sine(rate, divisor, phase, amp))


# ------------------------------------------------- true-peak stand-ins for cases 20-23


def _scaled_to_unit_peak(
    rate: int, seconds: float, waveform: Callable[[np.ndarray], np.ndarray]
) -> np.ndarray:
    """Sample `waveform(t)` and scale it so its continuous-time peak is exactly 1 (0 dBTP).

    The crest is located on a 16x grid, then searched on a 1/1000-sample grid around it (the
    residual error is far below 0.001 dB for these smooth signals).
    """
    coarse_rate = rate * 16
    tc = np.arange(int(seconds * coarse_rate)) / coarse_rate
    i = int(np.argmax(np.abs(waveform(tc))))
    fine = tc[i] + np.linspace(-2.0, 2.0, 4001) / coarse_rate
    peak = float(np.abs(waveform(fine)).max())
    t = np.arange(int(seconds * rate)) / rate
    return waveform(t) / peak


def _standin_20(rate: int) -> np.ndarray:
    # 20 kHz, at the top of the audio band, where a 4x interpolator misses up to 0.5 dB.
    def w(t: np.ndarray) -> np.ndarray:
        return np.sin(2 * np.pi * 20000.0 * t + 0.3) * _envelope(t, 3.0)

    return stereo(_scaled_to_unit_peak(rate, 3.0, w))


def _standin_21(rate: int) -> np.ndarray:
    # fs/4 tone whose samples sit 2.5 dB under its crest (phase 41.4 degrees).
    x = fraction_sine(rate, 4, 41.41, 1.0)
    return stereo(x)


def _standin_22(rate: int) -> np.ndarray:
    # Two tones, 5 and 15 kHz: the crest lies between samples and is not a sine's.
    def w(t: np.ndarray) -> np.ndarray:
        x = np.sin(2 * np.pi * 5000.0 * t + 0.1) + 0.8 * np.sin(2 * np.pi * 15000.0 * t + 1.3)
        return x * _envelope(t, 3.0)

    return stereo(_scaled_to_unit_peak(rate, 3.0, w))


def _standin_23(rate: int) -> np.ndarray:
    # Hann-windowed 19 kHz bursts of 20 ms every 250 ms: transients near the band edge.
    def w(t: np.ndarray) -> np.ndarray:
        local = np.mod(t, 0.25)
        env = np.where(local < 0.02, 0.5 - 0.5 * np.cos(2 * np.pi * local / 0.02), 0.0)
        return env * np.sin(2 * np.pi * 19000.0 * t + 0.7)

    return stereo(_scaled_to_unit_peak(rate, 3.0, w))


def _envelope(t: np.ndarray, seconds: float, ramp: float = 0.1) -> np.ndarray:
    """Raised-cosine fade in and out, as a function of time (for analytic waveforms)."""
    up = np.clip(t / ramp, 0.0, 1.0)
    down = np.clip((seconds - t) / ramp, 0.0, 1.0)
    return (0.5 - 0.5 * np.cos(np.pi * up)) * (0.5 - 0.5 * np.cos(np.pi * down))


STANDINS: list[tuple[str, str, Callable[[int], np.ndarray]]] = [
    ("3341-20*", "stand-in: 20 kHz sine, continuous peak 0 dBTP", _standin_20),
    ("3341-21*", "stand-in: fs/4 sine, 41.4° phase (samples -2.5 dB), 0 dBTP", _standin_21),
    ("3341-22*", "stand-in: 5 kHz + 15 kHz two-tone, continuous peak 0 dBTP", _standin_22),
    ("3341-23*", "stand-in: Hann-windowed 19 kHz bursts, continuous peak 0 dBTP", _standin_23),
]


# --------------------------------------------------------------------------- Tech 3342


def tech3342_cases() -> list[EbuCase]:
    """Tech 3342 cases 1-4 (5 and 6 are programme excerpts)."""

    def lra(name: str, want: float, *segments: tuple[float, float]) -> EbuCase:
        text = " then ".join(f"{d:g} s at {lv:g} dBFS" for lv, d in segments)
        return EbuCase(
            name,
            f"stereo 1 kHz, {text}",
            STEREO,
            stereo_tones(*segments),
            (Check("LRA", want, LRA_TOL, LRA_TOL),),
        )

    return [
        lra("3342-1", 10, (-20, 20), (-30, 20)),
        lra("3342-2", 5, (-20, 20), (-15, 20)),
        lra("3342-3", 20, (-40, 20), (-20, 20)),
        lra("3342-4", 15, (-50, 20), (-35, 20), (-20, 20), (-35, 20), (-50, 20)),
    ]


def all_cases() -> list[EbuCase]:
    return tech3341_cases() + tech3342_cases()


# --------------------------------------------------------------------------- evaluation


@dataclass(frozen=True)
class Reading:
    """A check with what the meter read (one entry per segment for *_segments checks)."""

    check: Check
    measured: tuple[float | None, ...]

    @property
    def passed(self) -> bool:
        wants = self.check.want if isinstance(self.check.want, tuple) else (self.check.want,)
        if len(wants) != len(self.measured):
            return False
        return all(
            m is not None and w - self.check.below - 1e-9 <= m <= w + self.check.above + 1e-9
            for w, m in zip(wants, self.measured, strict=True)
        )


def evaluate(case: EbuCase, rate: int = RATE, block: int | None = None) -> list[Reading]:
    """Synthesise `case`, meter it (in blocks of `block` frames if given), read its checks."""
    from pipeline.qc.loudness import LoudnessMeter

    x = case.make(rate)
    step = 0.01  # a fine series for the "constant" and per-segment checks
    meter = LoudnessMeter(rate, case.weights, series_step_s=step)
    if block:
        for start in range(0, x.shape[0], block):
            meter.add(x[start : start + block])
    else:
        meter.add(x)
    r = meter.result()
    readings = []
    for check in case.checks:
        readings.append(Reading(check, _read(check, r)))
    return readings


def _read(check: Check, r) -> tuple[float | None, ...]:
    single = {
        "I": r.integrated_lufs,
        "LRA": r.lra_lu,
        "TP": r.true_peak_dbtp,
        "M_max": r.momentary_max_lufs,
        "S_max": r.short_term_max_lufs,
    }
    if check.measure in single:
        return (single[check.measure],)
    series = r.momentary_series if check.measure.startswith("M") else r.short_term_series
    step = r.series_step_s
    if check.measure.endswith("_const"):
        # Point k is the window ending at (k + 1) * step.
        values = [v for k, v in enumerate(series) if (k + 1) * step > check.after_s + 1e-9]
        if not values or any(v is None for v in values):
            return (None,)
        assert isinstance(check.want, float | int)
        return (max(values, key=lambda v: abs(v - check.want)),)
    # Per-segment maxima: windows ending within each segment.
    per_segment = round(check.segment_s / step)
    out: list[float | None] = []
    assert isinstance(check.want, tuple)
    for seg in range(len(check.want)):
        chunk = [v for v in series[seg * per_segment : (seg + 1) * per_segment] if v is not None]
        out.append(max(chunk) if chunk else None)
    return tuple(out)
