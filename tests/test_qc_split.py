"""Split-and-merge QC (pipeline.qc.split) gives the one-pass result: same verdict, findings and
measurements (loudness within EBU Tech 3341/3342 tolerances; in practice equal), on real media.

The one-pass runs and splits are module-scoped: each file is decoded once per way.
"""

from __future__ import annotations

import pickle
import wave
from pathlib import Path

import numpy as np
import pytest

from pipeline import tools
from pipeline.profiles import load_profile
from pipeline.qc.findings import QCResult
from pipeline.qc.loudness import LoudnessInputError, LoudnessMeter
from pipeline.qc.run import qc_file
from pipeline.qc.split import (
    Span,
    SplitError,
    keyframe_times,
    measure_span,
    merge_spans,
    plan_spans,
    qc_split,
)

LOUDNESS_KEYS = (
    "integrated_lufs",
    "lra_lu",
    "momentary_max_lufs",
    "short_term_max_lufs",
)


def _finding_rows(r: QCResult) -> list[tuple]:
    return sorted((f.check, f.severity, f.start_s, f.end_s, f.channel) for f in r.findings)


def assert_same_qc(one: QCResult, split: QCResult, n: int, *, short: bool = True) -> None:
    """The split result is the one-pass result. `short`: every frame idet samples (the first
    20 s) lies in the first segment, so the interlace evidence is equal too."""
    assert one.error is None and split.error is None, (one.error, split.error)
    assert split.verdict == one.verdict
    assert split.measurements["split"]["segments"] == n
    assert len(split.measurements["split"]["boundaries_s"]) == n - 1
    a, b = _finding_rows(one), _finding_rows(split)
    assert [r[:2] for r in a] == [r[:2] for r in b]
    for ra, rb in zip(a, b, strict=True):  # times within one frame
        for ta, tb in zip(ra[2:4], rb[2:4], strict=True):
            assert (ta is None) == (tb is None)
            if ta is not None:
                assert abs(ta - tb) <= 0.04 + 1e-9, (ra, rb)
    for key in ("loudness", "loudness_file"):
        lo, ls = one.measurements.get(key), split.measurements.get(key)
        assert (lo is None) == (ls is None)
        if lo is None:
            continue
        for k in LOUDNESS_KEYS:
            assert (lo[k] is None) == (ls[k] is None), k
            if lo[k] is not None:
                assert abs(lo[k] - ls[k]) <= 0.05, (key, k, lo[k], ls[k])
        assert abs(lo["true_peak_dbtp"] - ls["true_peak_dbtp"]) <= 0.1
        assert lo["duration_s"] == ls["duration_s"]
    skip = {"split", "loudness", "loudness_file", "decode"} | (set() if short else {"interlace"})
    for key in set(one.measurements) | set(split.measurements):
        if key not in skip:
            assert split.measurements.get(key) == one.measurements.get(key), key
    d1, d2 = one.measurements["decode"], split.measurements["decode"]
    assert {k: v for k, v in d1.items() if k != "decode_errors"} == {
        k: v for k, v in d2.items() if k != "decode_errors"
    }


# --- the sample masters -----------------------------------------------------------------------


@pytest.fixture(scope="module")
def web(samples):
    path = Path(samples["root"]) / "masters" / "WEB_MASTER.mp4"
    return path, qc_file(path, load_profile("web-h264"))


@pytest.fixture(scope="module")
def programme(samples, tmp_path_factory):
    path = Path(samples["root"]) / "masters" / "PROGRAMME_MASTER.mxf"
    thumbs = tmp_path_factory.mktemp("one") / "thumbs"
    return path, qc_file(path, load_profile("fr-pad-hd"), thumbnails_dir=thumbs)


@pytest.mark.parametrize("n", [2, 3])
def test_web_master_split_equals_one_pass(web, n):
    path, one = web
    split = qc_split(path, "web-h264", n)
    assert_same_qc(one, split, n)
    assert one.measurements["loudness"] == split.measurements["loudness"]  # series too


def test_programme_master_split_equals_one_pass(programme, tmp_path):
    """Line-up (13 s before 10:00:00:00), head/mid/tail black, freeze, still card, night
    scene, tone and loudness over the programme window: three segments, one pass's result."""
    path, one = programme
    split = qc_split(path, "fr-pad-hd", 3, thumbnails_dir=tmp_path / "thumbs")
    assert_same_qc(one, split, 3, short=False)
    assert split.measurements["lineup"] == one.measurements["lineup"]
    assert split.measurements["lineup"]["tone"]  # the line-up tone was measured
    assert {f.check for f in one.findings} >= {"freeze", "black"}
    thumbs = [f.thumbnail for f in split.findings if f.thumbnail]
    assert thumbs and all((tmp_path / t).is_file() for t in thumbs)
    assert thumbs == [f.thumbnail for f in one.findings if f.thumbnail]  # the same frames


def test_spans_lie_on_keyframes_of_a_long_gop_file(web):
    path, _ = web
    keys = keyframe_times(path)
    assert 2 <= len(keys) < 250 / 10  # long GOP: far fewer keyframes than frames
    spans = plan_spans(path, 3)
    assert len(spans) == 3 and spans[0].start_s == 0.0 and spans[-1].end_s is None
    for s in spans[1:]:
        assert min(abs(s.start_s - k) for k in keys) < 1e-6
        assert s.preroll_s >= 1.0
        # the pre-roll starts on the pattern grid (every 6 frames at 25 fps)
        assert round((s.start_s - s.preroll_s) * 25) % 6 == 0
    for a, b in zip(spans, spans[1:], strict=False):
        assert a.end_s == b.start_s


def test_span_measures_are_small_and_picklable(web):
    path, _ = web
    spans = plan_spans(path, 2)
    part = measure_span(str(path), "web-h264", spans[1])
    blob = pickle.dumps(part)
    assert len(blob) < 2_000_000  # series of numbers and a few PNG thumbnails, not frames
    back = pickle.loads(blob)
    assert back.span == spans[1]
    assert back.picture.first_frame == round(spans[1].start_s * 25)
    assert back.sound.first_sample == round(spans[1].start_s * 10) * 4800


def test_a_span_list_that_does_not_cover_the_file_is_refused(web):
    path, _ = web
    spans = plan_spans(path, 2)
    gap = [spans[0], Span(1, spans[1].start_s + 1.0, None, 1.0)]
    late = [Span(0, 1.0, None, 1.0)]
    short = [spans[0], Span(1, spans[1].start_s, 9.0, spans[1].preroll_s)]
    for bad in (gap, late, short, []):
        with pytest.raises(SplitError):
            merge_spans(path, "web-h264", bad, [])
    with pytest.raises(SplitError, match="do not match"):
        merge_spans(path, "web-h264", spans, [])


def test_dialogue_gated_loudness_of_a_split_equals_one_pass(tmp_path):
    """Speech (espeak-ng) between loud music: the dialogue-gated reading of a split QC is the
    one-pass reading, because the whole file's sound is heard once by one detector."""
    from test_qc_dialogue import NETFLIX_LIKE, R, _at, _music, _speak

    from pipeline.profiles import parse_profile

    rng = np.random.default_rng(3)
    line = _speak("The cluster heard every word of this line, once.", tmp_path / "l.wav")
    speech = _at(np.concatenate([np.zeros(5 * R), line, np.zeros(3 * R), line]), -27.0)
    mix = speech + np.concatenate([_at(_music(5, rng), -14.0), np.zeros(speech.size - 5 * R)])
    wav = tmp_path / "dialogue.wav"
    with wave.open(str(wav), "wb") as w:
        w.setnchannels(2)
        w.setsampwidth(2)
        w.setframerate(R)
        pcm = (np.clip(np.stack([mix, mix], axis=1) * 0.7, -1, 1) * 32767).astype("<i2")
        w.writeframes(pcm.tobytes())
    profile = tmp_path / "dlg.yaml"  # the profile in it is named dlg
    profile.write_text(NETFLIX_LIKE)
    one = qc_file(wav, parse_profile(NETFLIX_LIKE))
    spans = plan_spans(wav, 2)
    parts = [measure_span(wav, str(profile), s) for s in spans]
    assert parts[0].dialogue is not None and parts[1].dialogue is None
    pickle.loads(pickle.dumps(parts[0]))  # it travels back from a worker
    split = merge_spans(wav, str(profile), spans, parts)
    assert split.error is None and one.error is None
    assert split.measurements["loudness_dialogue"] == one.measurements["loudness_dialogue"]
    assert split.measurements["loudness_dialogue"]["dialogue_lufs"] is not None
    assert [f.message for f in split.findings] == [f.message for f in one.findings]


# --- a boundary inside black, freeze, silence and clipping ----------------------------------


@pytest.fixture(scope="module")
def faults(tmp_path_factory):
    """12 s, 25 fps, a keyframe every second, PCM sound: black 3-5 s (cut at 4), a freeze
    5.5-9.5 s (cuts at 6 and 8), silence 3-5 s, full-scale clipped runs across 6 s and 8 s."""
    path = tmp_path_factory.mktemp("split") / "faults.mov"
    clip = "s=320x180:r=25"
    video = (
        f"testsrc2={clip}:d=3,format=yuv420p[v0];color=black:{clip}:d=2,format=yuv420p[v1];"
        f"testsrc2={clip}:d=0.5,format=yuv420p,tpad=stop_mode=clone:stop_duration=4[v2];"
        f"testsrc2={clip}:d=2.5,format=yuv420p[v3];[v0][v1][v2][v3]concat=n=4:v=1:a=0[v]"
    )
    audio = (
        "aevalsrc='if(between(t,3,5),0,"
        "if(between(t,5.9995,6.0005)+between(t,7.999,8.001),1,0.3*sin(2*PI*440*t)))'"
        ":s=48000:d=12,pan=stereo|c0=c0|c1=c0[s]"
    )
    tools.run(
        [
            tools.ffmpeg_exe(), "-hide_banner", "-nostdin", "-v", "error", "-y",
            "-filter_complex", f"{video};{audio}", "-map", "[v]", "-map", "[s]",
            "-c:v", "libx264", "-preset", "ultrafast", "-g", "25", "-keyint_min", "25",
            "-sc_threshold", "0", "-bf", "2", "-c:a", "pcm_s24le", "-t", "12", str(path),
        ],
        what="making",
        path=path,
    )  # fmt: skip
    return path, qc_file(path, load_profile("ebu-r128"))


@pytest.mark.parametrize("n", [2, 3])
def test_boundaries_inside_black_freeze_silence_and_clipping(faults, n):
    path, one = faults
    checks = {f.check for f in one.findings}
    assert {"black", "freeze", "silence", "clipping"} <= checks, checks
    split = qc_split(path, "ebu-r128", n)
    cuts = split.measurements["split"]["boundaries_s"]
    assert cuts == ([6.0] if n == 2 else [4.0, 8.0])
    assert_same_qc(one, split, n)
    assert split.measurements["clipping"] == one.measurements["clipping"]
    (freeze,) = one.measurements["freeze"]
    assert freeze["start_s"] < cuts[-1] < freeze["end_s"]  # one run across the cut, not two


# --- the meter's parts, on a synthetic signal ----------------------------------------------------


def test_meter_parts_rebuild_the_one_pass_meter():
    rate = 48000
    rng = np.random.default_rng(7)
    t = np.arange(rate * 8) / rate
    x = (0.2 * np.sin(2 * np.pi * 997 * t) * (1 + np.sin(t)))[:, None] * [1.0, 0.5]
    x = x + 0.01 * rng.standard_normal(x.shape)
    x[rate * 4 - 3 : rate * 4 + 3, 0] = 0.99  # a peak right at the cut
    one = LoudnessMeter(rate, [1.0, 1.0])
    one.add(x)
    cut, settle, lead = 4 * rate, rate // 2, rate // 5
    first = LoudnessMeter(rate, [1.0, 1.0])
    first.start_recording()
    first.add(x[:cut])
    second = LoudnessMeter(rate, [1.0, 1.0])
    second.add(x[cut - settle - lead : cut - lead])
    second.start_recording()
    second.add(x[cut - lead :])
    merged = LoudnessMeter(rate, [1.0, 1.0])
    merged.load_parts([first.part(final=False), second.part(final=True, lead_ticks=lead // 48)])
    a, b = one.result(), merged.result()
    for k in (*LOUDNESS_KEYS, "true_peak_dbtp", "sample_peak_dbfs", "duration_s"):
        assert getattr(a, k) == pytest.approx(getattr(b, k), abs=1e-6), k
    assert a.momentary_series == b.momentary_series
    # a segment whose audio is one sample late is refused, not merged wrong
    late = LoudnessMeter(rate, [1.0, 1.0])
    late.add(x[cut - settle - lead + 1 : cut - lead + 1])
    late.start_recording()
    late.add(x[cut - lead + 1 :])
    with pytest.raises(LoudnessInputError, match="line up"):
        LoudnessMeter(rate, [1.0, 1.0]).load_parts(
            [first.part(final=False), late.part(final=True, lead_ticks=lead // 48)]
        )
