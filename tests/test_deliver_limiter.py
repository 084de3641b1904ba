"""The true-peak limiter on its own: ceiling held, smooth gain, block-size independent."""

from __future__ import annotations

import numpy as np

from pipeline.deliver.limiter import TruePeakLimiter
from pipeline.qc.loudness import measure

RATE = 48000


def programme(seconds: float = 6.0, seed: int = 1) -> np.ndarray:
    """Stereo noise with a few 2-10 ms transients 18 dB above it, one at 10 kHz."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((int(RATE * seconds), 2)) * 0.05
    t = np.arange(480) / RATE
    for at, f in ((1.0, 1000.0), (2.5, 10000.0), (4.0, 3000.0)):
        a = int(at * RATE)
        x[a : a + 480] += 0.8 * np.sin(2 * np.pi * f * t)[:, None]
    return x.astype(np.float32)


def limited(x: np.ndarray, gain_db: float, block: int, threshold: float = -1.1):
    lim = TruePeakLimiter(RATE, x.shape[1], threshold_dbtp=threshold)
    results = list(lim.process(x, gain_db, block_frames=block))
    return np.concatenate([out for out, _ in results]), results[-1][1]


def test_true_peak_stays_under_threshold_and_stats_say_how_much() -> None:
    x = programme()
    before = measure(x, RATE).true_peak_dbtp
    y, stats = limited(x, 6.0, 1 << 15)
    assert before + 6.0 > 3.0  # the gain alone would be far over the ceiling
    assert measure(y, RATE).true_peak_dbtp <= -1.0
    expected = before + 6.0 - (-1.1)
    assert abs(stats.max_gain_reduction_db - expected) < 0.5
    # Only around the three bursts (attack, burst, release at 40 dB/s): well under 1 s in all.
    assert 0 < stats.limited_frames < RATE
    assert abs(stats.max_at_frame / RATE - 2.5) < 0.5 or abs(stats.max_at_frame / RATE - 1.0) < 0.5


def test_result_does_not_depend_on_block_size() -> None:
    x = programme()
    a, _ = limited(x, 6.0, 1000)
    b, _ = limited(x, 6.0, 1 << 15)
    assert np.max(np.abs(a - b)) < 1e-6


def test_gain_is_smooth_and_untouched_away_from_peaks() -> None:
    x = programme()
    y, _ = limited(x, 6.0, 4096)
    g = 10 ** (6.0 / 20)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = y[:, 0] / (x[:, 0] * g)
    ok = np.abs(x[:, 0]) > 1e-3
    gain_db = 20 * np.log10(ratio[ok])
    # Far from the bursts the programme only got the linear gain.
    quiet = (np.arange(x.shape[0]) > int(0.2 * RATE)) & (np.arange(x.shape[0]) < int(0.9 * RATE))
    assert np.allclose(y[quiet], x[quiet] * g, rtol=1e-5, atol=1e-7)
    # Look-ahead attack: no step larger than a small fraction of a dB between neighbours.
    steps = np.abs(np.diff(gain_db))
    assert steps.max() < 0.5
    assert gain_db.min() < -5.0


def test_under_the_threshold_nothing_happens() -> None:
    x = programme() * 0.1
    y, stats = limited(x, 0.0, 1 << 15)
    assert stats.max_gain_reduction_db == 0.0 and stats.limited_frames == 0
    assert np.array_equal(y, x)
