"""Loudness normalisation of masters: real ffmpeg decodes, our meter and ffmpeg's ebur128 check.

- a quiet master gets one linear gain, on target by our meter and by ffmpeg's ebur128;
- a master with loud transients delivered to -14 LUFS / -1 dBTP stays under the ceiling and
  the limiter is reported with its gain reduction;
- a QC measurement passed in is used instead of an analysis pass (counted);
- silence and a master without audio are clear errors.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

import pipeline.deliver.loudnorm as loudnorm
from pipeline.deliver.loudnorm import NormalisedAudio, NormaliseError, normalise_audio
from pipeline.qc.loudness import LoudnessMeter, measure
from pipeline.tools import ffmpeg_exe, ffmpeg_input, run

RATE = 48000


def make_master(path: Path, audio_filter: str, seconds: float = 12.0, video: bool = True) -> Path:
    """A small MOV (test picture + 24-bit PCM stereo) from an ffmpeg lavfi audio graph."""
    cmd = [ffmpeg_exe(), "-hide_banner", "-v", "error", "-y"]
    if video:
        cmd += ["-f", "lavfi", "-i", f"testsrc=s=160x90:r=25:d={seconds}"]
    cmd += ["-f", "lavfi", "-i", audio_filter, "-t", str(seconds)]
    if video:
        cmd += ["-c:v", "mpeg4", "-q:v", "10"]
    cmd += ["-c:a", "pcm_s24le", "-ar", str(RATE), str(path)]
    run(cmd, what="making a test master", path=path)
    return path


QUIET = f"sine=f=440:sample_rate={RATE},volume=0.02,pan=stereo|c0=c0|c1=0.7*c0"
# Continuous pink noise (the programme, about -22 LUFS) with a 2 kHz burst at 0.9 every 2 s:
# +8 dB of gain puts the bursts ~8 dB over a -1 dBTP ceiling.
LOUD = (
    f"anoisesrc=c=pink:a=0.25:r={RATE}:seed=7[n];"
    f"aevalsrc='if(lt(mod(t,2),0.004),0.9*sin(2*PI*2000*t),0)':s={RATE}[b];"
    "[n][b]amix=inputs=2:normalize=0,pan=stereo|c0=c0|c1=0.9*c0"
)


def read_wav(path: Path) -> np.ndarray:
    """Decode a WAV with ffmpeg to float32 (frames, channels)."""
    res = run(
        [ffmpeg_exe(), "-v", "error", "-i", ffmpeg_input(path), "-f", "f32le", "-c:a",
         "pcm_f32le", "-"],
        what="reading back",
        path=path,
    )  # fmt: skip
    x = np.frombuffer(res.stdout, dtype="<f4")
    return x.reshape(-1, 2)


def ebur128(path: Path) -> dict[str, float]:
    """ffmpeg's own summary (integrated loudness, true peak) of a file."""
    res = run(
        [ffmpeg_exe(), "-hide_banner", "-nostats", "-i", ffmpeg_input(path), "-af",
         "ebur128=peak=true", "-f", "null", "-"],
        what="measuring with ebur128",
        path=path,
    )  # fmt: skip
    summary = res.stderr.split("Summary:")[-1]
    integrated = float(re.search(r"I:\s+(-?[\d.]+) LUFS", summary).group(1))
    peak = float(re.search(r"Peak:\s+(-?[\d.]+|-inf) dBFS", summary).group(1))
    return {"I": integrated, "TP": peak}


@pytest.fixture(scope="module")
def masters(tmp_path_factory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("masters")
    return {
        "quiet": make_master(d / "quiet master.mov", QUIET),
        "loud": make_master(d / "loud transients.mov", f"{LOUD}", seconds=20.0),
    }


def test_quiet_master_gets_one_gain_on_target(masters, tmp_path: Path) -> None:
    res = normalise_audio(
        masters["quiet"], target_lufs=-16.0, true_peak_max_dbtp=-1.0, work_dir=tmp_path
    )
    assert isinstance(res, NormalisedAudio)
    assert not res.limiter_used and res.max_gain_reduction_db == 0.0
    assert res.gain_db > 10.0  # it was quiet: a real gain was applied
    assert res.wav.is_file() and res.wav.parent == tmp_path
    assert not list(tmp_path.glob(".*"))  # no cache or temp file left behind
    x = read_wav(res.wav)
    ours = measure(x, RATE)
    assert abs(ours.integrated_lufs - -16.0) <= 0.1
    assert abs(ebur128(res.wav)["I"] - -16.0) <= 0.1
    # One linear gain: the output is the input times a constant.
    before = measure(read_wav_master(masters["quiet"]), RATE)
    assert abs((ours.true_peak_dbtp - before.true_peak_dbtp) - res.gain_db) < 0.01
    assert "linear gain" in res.notes[0] and "limiter" not in " ".join(res.notes)
    dumped = res.model_dump()
    assert dumped["measured_after"]["integrated_lufs"] == pytest.approx(-16.0, abs=0.05)


def read_wav_master(path: Path) -> np.ndarray:
    res = run(
        [ffmpeg_exe(), "-v", "error", "-i", ffmpeg_input(path), "-map", "0:a", "-f", "f32le",
         "-c:a", "pcm_f32le", "-"],
        what="decoding",
        path=path,
    )  # fmt: skip
    return np.frombuffer(res.stdout, dtype="<f4").reshape(-1, 2)


def test_loud_transients_are_limited_and_reported(masters, tmp_path: Path) -> None:
    res = normalise_audio(
        masters["loud"], target_lufs=-14.0, true_peak_max_dbtp=-1.0, work_dir=tmp_path
    )
    x = read_wav(res.wav)
    ours = measure(x, RATE)
    assert ours.true_peak_dbtp <= -1.0, ours.true_peak_dbtp
    assert abs(ours.integrated_lufs - -14.0) <= 0.1
    assert abs(ebur128(res.wav)["I"] - -14.0) <= 0.1
    assert ebur128(res.wav)["TP"] <= -1.0
    assert res.limiter_used
    assert res.max_gain_reduction_db > 3.0
    assert 0.0 < res.limited_s < 10.0  # the bursts and their release, not the whole programme
    assert res.measured_before.true_peak_dbtp > -1.0 - res.gain_db
    note = next(n for n in res.notes if "true-peak limiter" in n)
    assert f"{res.max_gain_reduction_db:.1f} dB" in note


def test_measurement_is_reused_without_analysis(masters, tmp_path: Path, monkeypatch) -> None:
    fed: list[int] = []
    real_add = LoudnessMeter.add

    def counting_add(self, block):
        fed.append(np.asarray(block).shape[0])
        return real_add(self, block)

    monkeypatch.setattr(LoudnessMeter, "add", counting_add)
    first = normalise_audio(
        masters["quiet"], target_lufs=-16.0, true_peak_max_dbtp=-1.0, work_dir=tmp_path / "a"
    )
    analysed = sum(fed)
    assert analysed == 2 * first.frames  # analysis pass + the check of the result
    fed.clear()
    qc = {
        "integrated_lufs": first.measured_before.integrated_lufs,
        "true_peak_dbtp": first.measured_before.true_peak_dbtp,
        "lra_lu": 0.5,
        "channels": [1, 2],
        "layout": "stereo",
    }
    second = normalise_audio(
        masters["quiet"],
        target_lufs=-16.0,
        true_peak_max_dbtp=-1.0,
        work_dir=tmp_path / "b",
        measurement=qc,
    )
    assert sum(fed) == second.frames  # only the result was metered
    assert second.measurement_reused and "QC measurement" in second.notes[0]
    assert second.measured_before.lra == 0.5  # the values given, not a new reading
    assert second.gain_db == pytest.approx(first.gain_db, abs=1e-6)


def test_channels_map_selects_the_mix(masters, tmp_path: Path) -> None:
    """Measuring channel 2 only (0.7 x channel 1) needs 10 log10(1.49 / 0.49) dB more gain."""
    both = normalise_audio(
        masters["quiet"], target_lufs=-20.0, true_peak_max_dbtp=-1.0, work_dir=tmp_path
    )
    right = normalise_audio(
        masters["quiet"],
        target_lufs=-20.0,
        true_peak_max_dbtp=-1.0,
        work_dir=tmp_path,
        channels_map=[2],
        layout="mono",
    )
    assert right.programme_channels == [2]
    assert right.gain_db - both.gain_db == pytest.approx(10 * np.log10(1.49 / 0.49), abs=0.1)
    with pytest.raises(NormaliseError, match=r"channels \[3\]"):
        normalise_audio(
            masters["quiet"], target_lufs=-20.0, true_peak_max_dbtp=-1.0,
            work_dir=tmp_path, channels_map=[3],
        )  # fmt: skip


def test_silence_and_no_audio_are_clear_errors(tmp_path: Path) -> None:
    silent = make_master(tmp_path / "silent.mov", f"anullsrc=r={RATE}:cl=stereo", seconds=4)
    with pytest.raises(NormaliseError, match="silent"):
        normalise_audio(silent, target_lufs=-23, true_peak_max_dbtp=-1, work_dir=tmp_path / "w")
    mute = tmp_path / "picture only.mov"
    run(
        [ffmpeg_exe(), "-v", "error", "-f", "lavfi", "-i", "testsrc=s=160x90:d=2", "-c:v",
         "mpeg4", str(mute)],
        what="making",
    )  # fmt: skip
    with pytest.raises(NormaliseError, match="no audio stream"):
        normalise_audio(mute, target_lufs=-23, true_peak_max_dbtp=-1, work_dir=tmp_path / "w")
    assert not [p for p in (tmp_path / "w").iterdir() if p.name.startswith(".")]


def test_rf64_header_above_4_gb(tmp_path: Path) -> None:
    import io

    small, big = io.BytesIO(), io.BytesIO()
    loudnorm._write_wav_header(small, RATE, 8, 1000)
    frames = 3600 * RATE  # an hour of 8 float tracks: 5.5 GB
    loudnorm._write_wav_header(big, RATE, 8, frames)
    assert small.getvalue()[:4] == b"RIFF" and b"JUNK" in small.getvalue()
    head = big.getvalue()
    assert head[:4] == b"RF64" and head[12:16] == b"ds64"
    assert int.from_bytes(head[28:36], "little") == frames * 8 * 4  # ds64 data size
    assert len(head) == len(small.getvalue())
