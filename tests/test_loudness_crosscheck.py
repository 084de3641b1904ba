"""Cross-check the meter against two independent implementations on programme-like signals.

- pyloudnorm (BS.1770 integrated loudness, no true peak);
- ffmpeg's ebur128 filter (integrated loudness, LRA and 4x true peak), run on the same PCM.

Agreement: integrated within 0.1 LU, true peak within 0.2 dB (ffmpeg oversamples 4x, we 8x,
so ffmpeg may read slightly lower on high-frequency peaks), LRA within 1 LU.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pyloudnorm
import pytest

from pipeline.qc.loudness import LoudnessResult, measure
from pipeline.tools import ffmpeg_exe, run


def pink_ride(rate: int, seconds: float, seed: int = 3) -> np.ndarray:
    """Stereo pink noise (partly correlated) with a slow level ride of about 12 dB."""
    rng = np.random.default_rng(seed)
    n = int(rate * seconds)
    white = rng.standard_normal((n, 2))
    white[:, 1] = 0.6 * white[:, 0] + 0.8 * white[:, 1]
    spectrum = np.fft.rfft(white, axis=0)
    f = np.fft.rfftfreq(n, 1 / rate)
    f[0] = f[1]
    pink = np.fft.irfft(spectrum / np.sqrt(f)[:, None], n=n, axis=0)
    pink /= np.abs(pink).max()
    t = np.arange(n) / rate
    ride = 10 ** ((-6 * (1 + np.sin(2 * np.pi * t / 9.0))) / 20)
    return 0.7 * pink * ride[:, None]


def music_like(rate: int, seconds: float, seed: int = 5) -> np.ndarray:
    """Notes with harmonics and decays over a noise-burst beat: dynamic, peaky, programme-like."""
    rng = np.random.default_rng(seed)
    n = int(rate * seconds)
    t = np.arange(n) / rate
    out = np.zeros((n, 2))
    beat = 0.5
    for start in np.arange(0.0, seconds - 1.0, beat):
        a = int(start * rate)
        length = int(rate * rng.uniform(0.3, 1.0))
        tt = t[: min(length, n - a)]
        f0 = 110 * 2 ** (rng.integers(0, 24) / 12)
        note = sum(
            np.sin(2 * np.pi * f0 * h * tt + rng.uniform(0, 6)) / h**1.3 for h in range(1, 9)
        )
        env = np.exp(-tt * rng.uniform(2, 6)) * rng.uniform(0.2, 0.6)
        pan = rng.uniform(0.3, 0.7)
        out[a : a + tt.size, 0] += note * env * pan
        out[a : a + tt.size, 1] += note * env * (1 - pan)
        hit = rng.standard_normal(int(0.05 * rate)) * np.exp(-np.arange(int(0.05 * rate)) / 400)
        out[a : a + hit.size] += 0.4 * hit[:, None]
    # Quieter bridge so the programme has a loudness range.
    out[int(n * 0.4) : int(n * 0.6)] *= 0.2
    return 0.9 * out / np.abs(out).max()


SIGNALS = {
    "pink-ride-48k": (48000, lambda: pink_ride(48000, 30.0)),
    "music-like-44k1": (44100, lambda: music_like(44100, 30.0)),
}


def ffmpeg_ebur128(x: np.ndarray, rate: int, tmp_path: Path) -> dict[str, float]:
    """ffmpeg's reading of float PCM: last integrated/LRA values, highest true peak (dBTP)."""
    meta = tmp_path / "r128.txt"
    assert not set(str(meta)) & set(":,;'\\[]="), "filter arguments would need escaping"
    pcm = np.ascontiguousarray(x, dtype="<f4").tobytes()
    cmd = [
        ffmpeg_exe(), "-hide_banner", "-nostats",
        "-f", "f32le", "-ar", str(rate), "-ac", str(x.shape[1]), "-i", "pipe:0",
        "-af", f"ebur128=peak=true:metadata=1,ametadata=mode=print:file={meta}",
        "-f", "null", "-",
    ]  # fmt: skip
    run(cmd, what="measuring loudness of a test signal with", input=pcm)
    text = meta.read_text()
    integrated = [float(v) for v in re.findall(r"lavfi\.r128\.I=(-?[\d.]+)", text)]
    lra = [float(v) for v in re.findall(r"lavfi\.r128\.LRA=(-?[\d.]+)", text)]
    peaks = [float(v) for v in re.findall(r"lavfi\.r128\.true_peak=([\d.]+)", text)]
    return {
        "I": integrated[-1],
        "LRA": lra[-1],
        "TP": 20 * np.log10(max(peaks)),
    }


@pytest.fixture(scope="module", params=list(SIGNALS))
def programme(request) -> tuple[str, int, np.ndarray, LoudnessResult]:
    rate, make = SIGNALS[request.param]
    x = make()
    return request.param, rate, x, measure(x, rate)


def test_integrated_agrees_with_pyloudnorm(programme) -> None:
    name, rate, x, ours = programme
    theirs = pyloudnorm.Meter(rate).integrated_loudness(x)
    assert abs(ours.integrated_lufs - theirs) <= 0.1, (name, ours.integrated_lufs, theirs)


def test_agrees_with_ffmpeg_ebur128(programme, tmp_path: Path) -> None:
    name, rate, x, ours = programme
    theirs = ffmpeg_ebur128(x, rate, tmp_path)
    assert abs(ours.integrated_lufs - theirs["I"]) <= 0.1, (name, ours.integrated_lufs, theirs)
    assert abs(ours.true_peak_dbtp - theirs["TP"]) <= 0.2, (name, ours.true_peak_dbtp, theirs)
    assert abs(ours.lra_lu - theirs["LRA"]) <= 1.0, (name, ours.lra_lu, theirs)
    # The signals were built to be dynamic: a broken LRA or a flat reading would show here.
    assert ours.lra_lu > 3.0
    assert ours.true_peak_dbtp >= ours.sample_peak_dbfs


def test_five_one_agrees_with_pyloudnorm() -> None:
    rate = 48000
    x = np.concatenate([pink_ride(rate, 20.0, seed=s) for s in (11, 12, 13)], axis=1)
    x[:, 3] *= 3.0  # LFE: weight 0, must not count
    ours = measure(x, rate, [1.0, 1.0, 1.0, 0.0, 1.41, 1.41])
    # pyloudnorm meters up to five channels, L R C Ls Rs with the same 1.41 surround weight:
    # give it the mix without the LFE, which BS.1770 leaves out.
    theirs = pyloudnorm.Meter(rate).integrated_loudness(np.delete(x, 3, axis=1))
    assert abs(ours.integrated_lufs - theirs) <= 0.1, (ours.integrated_lufs, theirs)
