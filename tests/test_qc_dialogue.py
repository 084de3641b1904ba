"""Dialogue-gated loudness on known material: espeak-ng speech between loud synthesised music
and effects. The dialogue-gated reading of the mix must be within 1 LU of the speech alone."""

from __future__ import annotations

import wave
from pathlib import Path

import numpy as np
import pytest
from conftest import need_tool
from scipy.signal import resample_poly

from pipeline.profiles import parse_profile
from pipeline.qc.dialogue import dialogue_loudness
from pipeline.qc.loudness import measure
from pipeline.tools import run

R = 48000
LINES = (
    "Good evening. Tonight we return to the lighthouse, where the keeper has been waiting for "
    "the storm to pass. He tells us the sea has never been this loud.",
    "Nobody expected the ship to arrive before dawn, but the captain knew these waters better "
    "than anyone alive.",
)


def _speak(text: str, out: Path) -> np.ndarray:
    need_tool("espeak-ng", "espeak-ng")
    run(["espeak-ng", "-v", "en", "-s", "150", "-w", str(out), text], what="speaking", path=out)
    with wave.open(str(out)) as w:
        x = np.frombuffer(w.readframes(w.getnframes()), "<i2") / 32768.0
        rate = w.getframerate()
    return resample_poly(x, R, rate)


def _at(x: np.ndarray, lufs: float) -> np.ndarray:
    return x * 10 ** ((lufs - measure(x, R).integrated_lufs) / 20)


def _music(seconds: float, rng: np.random.Generator) -> np.ndarray:
    t = np.arange(int(seconds * R)) / R
    y = sum(
        np.sin(2 * np.pi * f0 * h * t * (1 + 0.002 * np.sin(2 * np.pi * 5 * t))) / h
        for f0 in (110, 138.6, 164.8, 220)
        for h in range(1, 8)
    )
    beat = t % 0.5
    return y + 3 * rng.standard_normal(t.size) * (beat < 0.08) * np.exp(-beat / 0.02)


def _effects(seconds: float, rng: np.random.Generator) -> np.ndarray:
    t = np.arange(int(seconds * R)) / R
    swell = 0.5 + 0.5 * np.sin(2 * np.pi * 0.7 * t)
    return rng.standard_normal(t.size) * swell + np.sin(2 * np.pi * (200 + 400 * t) * t)


@pytest.fixture(scope="module")
def material(tmp_path_factory: pytest.TempPathFactory) -> dict[str, np.ndarray]:
    """Music 6 s, line 1, music 6 s, line 2, effects 4 s; speech at -27, music and effects at
    -14..-12 LUFS, a music bed 20 dB under the dialogue."""
    d = tmp_path_factory.mktemp("dialogue")
    rng = np.random.default_rng(7)
    s1, s2 = (_speak(text, d / f"line{i}.wav") for i, text in enumerate(LINES))
    gap = np.zeros(6 * R)
    speech = _at(np.concatenate([gap, s1, gap, s2, np.zeros(4 * R)]), -27.0)
    loud = np.zeros(speech.size)
    loud[: 6 * R] = _at(_music(6, rng), -14.0)
    a = 6 * R + s1.size
    loud[a : a + 6 * R] = _at(_music(6, rng), -13.0)
    loud[-4 * R :] = _at(_effects(4, rng), -12.0)
    bed = _at(_music(speech.size / R + 1, rng), -47.0)[: speech.size]
    stereo = lambda x: np.stack([x, x], axis=1) * 0.7  # noqa: E731
    return {"speech": stereo(speech), "mix": stereo(speech + loud + bed)}


def test_dialogue_gated_reading_is_within_1_lu_of_the_speech_alone(material) -> None:
    speech_only = measure(material["speech"], R).integrated_lufs
    full_mix = measure(material["mix"], R).integrated_lufs
    gated = dialogue_loudness(material["mix"], R)
    assert gated.dialogue_lufs is not None and gated.reliable
    print(f"speech only {speech_only:.2f}, dialogue-gated {gated.dialogue_lufs:.2f}, "
          f"full mix {full_mix:.2f} LUFS, speech {gated.speech_ratio:.0%}")  # fmt: skip
    assert abs(gated.dialogue_lufs - speech_only) <= 1.0
    # the loud music and effects dominate the full mix: the two readings are far apart
    assert full_mix - gated.dialogue_lufs > 8.0
    assert 0.2 < gated.speech_ratio < 0.8


def test_music_and_effects_alone_have_no_dialogue(material) -> None:
    rng = np.random.default_rng(3)
    loud = np.concatenate([_music(8, rng), _effects(6, rng)])
    res = dialogue_loudness(np.stack([loud, loud], axis=1) * 0.3, R)
    assert res.speech_ratio < 0.05 and not res.reliable


NETFLIX_LIKE = """
name: dlg
title: dialogue test
summary: dialogue-gated -27 with the full mix as second check
kind: platform
source: {document: "Netflix Partner Help Center: Loudness and True Peaks"}
loudness:
  standard: BS.1770
  target_lufs: -24
  tolerance_lu: 3
  max_true_peak_dbtp: 0
  layout: stereo
  gating: dialogue
  dialogue: {target_lufs: -27, tolerance_lu: 2}
format: {require_video: false}
"""


def test_qc_reports_dialogue_beside_the_full_mix(material, tmp_path: Path) -> None:
    from pipeline.qc.run import qc_file

    pcm = (np.clip(material["mix"], -1, 1) * 32767).astype("<i2")
    wav = tmp_path / "-mix [dialogue].wav"
    with wave.open(str(wav), "wb") as w:
        w.setnchannels(2)
        w.setsampwidth(2)
        w.setframerate(R)
        w.writeframes(pcm.tobytes())
    profile = parse_profile(NETFLIX_LIKE)
    result = qc_file(wav, profile)
    assert result.error is None, result.error
    dlg = result.measurements["loudness_dialogue"]
    speech_only = measure(material["speech"], R).integrated_lufs
    assert abs(dlg["dialogue_lufs"] - speech_only) <= 1.0
    assert dlg["full_mix_lufs"] > dlg["dialogue_lufs"] + 8
    found = [f for f in result.findings if f.check == "loudness.dialogue"]
    assert len(found) == 1 and "full mix" in found[0].message
    assert "approximation of Dolby Dialogue Intelligence" in found[0].message


def test_dialogue_gating_decides_and_the_full_mix_is_not_flagged_twice():
    """With gating "dialogue" the full-mix integrated reading is the dialogue check's second
    stage (Netflix flags only when both fail), not a loudness.integrated error of its own."""
    from pipeline.profiles import load_profile
    from pipeline.qc.findings import Severity
    from pipeline.qc.loudness import LoudnessResult
    from pipeline.qc.sound import _integrated_findings

    res = LoudnessResult.model_construct(integrated_lufs=-14.0)
    gated = load_profile("netflix-prores-hq").loudness
    assert gated.gating == "dialogue" and gated.dialogue is not None
    assert _integrated_findings(res, gated, Severity.ERROR, "") == []
    plain = gated.model_copy(update={"gating": "programme", "dialogue": None})
    assert [f.check for f in _integrated_findings(res, plain, Severity.ERROR, "")] == [
        "loudness.integrated"
    ]
