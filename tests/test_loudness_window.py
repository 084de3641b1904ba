"""Loudness over a time window (the programme without its line-up), from one metering pass.

The reference for a window is the same meter fed only that window's audio: what a loudness
meter reads on the trimmed programme. Integrated loudness within 0.1 LU (Tech 3341), LRA within
1 LU (Tech 3342), maxima within 0.1 LU; whole-file defaults unchanged.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
from test_qc_checks import make_profile

from pipeline.qc.loudness import LoudnessInputError, LoudnessMeter, LoudnessResult, measure

RATE = 48000
GATED = ("integrated_lufs", "lra_lu", "momentary_max_lufs", "short_term_max_lufs")
TOLERANCE = {
    "integrated_lufs": 0.1,
    "lra_lu": 1.0,
    "momentary_max_lufs": 0.1,
    "short_term_max_lufs": 0.1,
}


def _noise(rng: np.random.Generator, seconds: float, dbfs: float) -> np.ndarray:
    return rng.standard_normal((round(seconds * RATE), 2)) * 10 ** (dbfs / 20)


@pytest.fixture(scope="module")
def lineup_then_programme() -> np.ndarray:
    """10 s of 1 kHz line-up tone at -18 dBFS, 3 s of silence (slate, head black), then 23.3 s
    of programme whose level moves (a 0.3 s burst, quiet and loud passages)."""
    rng = np.random.default_rng(7)
    t = np.arange(10 * RATE) / RATE
    tone = np.repeat((10 ** (-18 / 20) * np.sin(2 * np.pi * 1000 * t))[:, None], 2, axis=1)
    programme = np.concatenate(
        [
            _noise(rng, 5, -40),
            _noise(rng, 0.3, -20),
            _noise(rng, 10, -35),
            _noise(rng, 5, -50),
            _noise(rng, 3, -30),
        ]
    )
    return np.concatenate([tone, np.zeros((3 * RATE, 2)), programme])


@pytest.fixture(scope="module")
def meter(lineup_then_programme: np.ndarray) -> LoudnessMeter:
    m = LoudnessMeter(RATE, [1.0, 1.0])
    x = lineup_then_programme
    step = 7777  # blocks that never line up with 100 ms: the window must not care
    for i in range(0, x.shape[0], step):
        m.add(x[i : i + step])
    return m


def _slice(x: np.ndarray, start_s: float, end_s: float | None) -> LoudnessResult:
    stop = None if end_s is None else round(end_s * RATE)
    return measure(x[round(start_s * RATE) : stop], RATE, [1.0, 1.0])


def _assert_agrees(windowed: LoudnessResult, alone: LoudnessResult) -> None:
    for key in GATED:
        got, want = getattr(windowed, key), getattr(alone, key)
        if want is None:
            assert got is None, key
        else:
            assert got == pytest.approx(want, abs=TOLERANCE[key]), key


@pytest.mark.parametrize(
    ("start_s", "end_s"),
    [
        (13.0, None),  # the programme after its line-up, to the end of the file
        (13.0, 30.0),
        (10.0, 23.3),
        (14.7, 36.3),  # past the end of the audio: to the end
        (5.0, 15.0),  # half tone, half programme
    ],
)
def test_window_reads_like_a_meter_fed_only_that_audio(
    meter, lineup_then_programme, start_s, end_s
):
    windowed = meter.result(start_s, end_s)
    _assert_agrees(windowed, _slice(lineup_then_programme, start_s, end_s))
    assert windowed.window_start_s == pytest.approx(start_s)
    assert windowed.window_end_s == pytest.approx(min(end_s or 1e9, windowed.duration_s))


def test_window_start_off_the_block_grid_rounds_up_so_no_line_up_enters(
    meter, lineup_then_programme
):
    """A start between 100 ms gating blocks is rounded up (the end down): the result says so,
    and it reads like a meter fed exactly that rounded window."""
    windowed = meter.result(13.03, 25.57)
    assert (windowed.window_start_s, windowed.window_end_s) == pytest.approx((13.1, 25.5))
    _assert_agrees(windowed, _slice(lineup_then_programme, 13.1, 25.5))


def test_line_up_tone_is_left_out_of_programme_loudness(meter, lineup_then_programme):
    whole = meter.result()
    programme = meter.result(13.0)
    alone = _slice(lineup_then_programme, 13.0, None)
    # the -18 dBFS tone pulls the whole file up by several LU; the window does not
    assert whole.integrated_lufs - alone.integrated_lufs > 3.0
    assert programme.integrated_lufs == pytest.approx(alone.integrated_lufs, abs=0.1)
    # the tone's short-term level is the file's loudest: the programme's maximum must not be it
    assert whole.short_term_max_lufs - programme.short_term_max_lufs > 1.0
    # peaks and the curve stay whole-file (peak limits apply to everything delivered)
    assert programme.true_peak_dbtp == whole.true_peak_dbtp
    assert programme.sample_peak_dbfs == whole.sample_peak_dbfs
    assert programme.short_term_series == whole.short_term_series
    assert programme.duration_s == whole.duration_s


def test_defaults_are_the_whole_file_as_before(meter, lineup_then_programme):
    whole = meter.result()
    assert (whole.window_start_s, whole.window_end_s) == (0.0, whole.duration_s)
    for same in (meter.result(None, None), meter.result(0.0), meter.result(0.0, 1e6)):
        assert same == whole
    one_shot = measure(lineup_then_programme, RATE, [1.0, 1.0])
    assert one_shot == whole
    # The window path over the whole file agrees with the whole-file path (tiny 1st block
    # excluded: a window from 0.05 s starts at 0.1 s).
    near = meter.result(0.05)
    _assert_agrees(near, _slice(lineup_then_programme, 0.1, None))


def test_window_shorter_than_the_meter_windows(meter, lineup_then_programme):
    """0.3 s: no gating block (no integrated loudness), one momentary and one short-term
    reading holding all its energy, as on a meter fed only those 0.3 s."""
    windowed = meter.result(18.0, 18.3)
    alone = _slice(lineup_then_programme, 18.0, 18.3)
    assert windowed.integrated_lufs is None and windowed.lra_lu is None
    _assert_agrees(windowed, alone)
    assert windowed.momentary_max_lufs is not None


def test_windowed_results_do_not_depend_on_block_sizes(lineup_then_programme):
    x = lineup_then_programme[: 20 * RATE]
    results = []
    for step in (1000, 4800, 123457):
        m = LoudnessMeter(RATE, [1.0, 1.0])
        for i in range(0, x.shape[0], step):
            m.add(x[i : i + step])
        results.append(m.result(13.0))
    assert results[0] == results[1] == results[2]
    assert results[0].integrated_lufs is not None


def test_window_at_44100_hz():
    rate = 44100
    rng = np.random.default_rng(3)
    x = np.concatenate(
        [rng.standard_normal((5 * rate, 2)) * 0.3, rng.standard_normal((12 * rate, 2)) * 0.02]
    )
    m = LoudnessMeter(rate, [1.0, 1.0])
    m.add(x)
    alone = measure(x[5 * rate :], rate, [1.0, 1.0])
    _assert_agrees(m.result(5.0), alone)


def test_empty_and_invalid_windows(meter):
    past = meter.result(40.0)  # starts after the audio: nothing measured
    assert past.integrated_lufs is None and past.momentary_max_lufs in (None, -np.inf)
    with pytest.raises(LoudnessInputError):
        meter.result(20.0, 10.0)
    with pytest.raises(LoudnessInputError):
        meter.result(-1.0)
    with pytest.raises(LoudnessInputError):
        meter.result(float("nan"))


# --- QC on real media -----------------------------------------------------------------------

LINEUP_S = 7.0  # 0-4 s bars and tone, 4-6 s slate in silence, 6-7 s black in silence
PROGRAMME_S = 8.0


@pytest.fixture(scope="module")
def lineup_master(tmp_path_factory) -> Path:
    """A small master made by ffmpeg: bars and 1 kHz tone at -18 dBFS, a slate and head black
    in silence, then a moving picture over uniform white noise (a known, steady level)."""
    from pipeline.tools import ffmpeg_exe, run

    dest = tmp_path_factory.mktemp("window") / "-lineup master.mov"
    src = "s=320x180:r=25"
    tone = "0.12589*sin(2*PI*1000*t)"  # -18 dBFS peak
    graph = (
        f"smptehdbars={src}:d=4,format=yuv420p[b];"
        f"color=c=0x404040:{src}:d=2,format=yuv420p,"
        "drawbox=x=60:y=60:w=100:h=40:color=white:t=fill[s];"
        f"color=c=black:{src}:d=1,format=yuv420p[k];"
        f"testsrc2=s=640x360:r=25:d={PROGRAMME_S},scale=320:180,format=yuv420p[p];"
        "[b][s][k][p]concat=n=4:v=1:a=0[v];"
        f"aevalsrc=exprs='if(lt(t\\,4)\\,{tone}\\,if(gte(t\\,{LINEUP_S})\\,"
        "0.03*(2*random(0)-1)\\,0))|"
        f"if(lt(t\\,4)\\,{tone}\\,if(gte(t\\,{LINEUP_S})\\,0.03*(2*random(1)-1)\\,0))'"
        f":s=48000:d={LINEUP_S + PROGRAMME_S}[a]"
    )
    run(
        [
            ffmpeg_exe(),
            "-nostdin",
            "-v",
            "error",
            "-filter_complex",
            graph,
            "-map",
            "[v]",
            "-map",
            "[a]",
            "-c:v",
            "libx264",
            "-preset",
            "ultrafast",
            "-pix_fmt",
            "yuv420p",
            "-c:a",
            "pcm_s24le",
            f"file:{dest}",
        ],
        what="making the line-up master",
        path=dest,
    )
    return dest


def _ffmpeg_integrated(path: Path, start_s: float | None) -> float:
    """ffmpeg's ebur128 on the file's audio, trimmed at `start_s`: the independent reading."""
    from pipeline.tools import ffmpeg_exe, ffmpeg_input, run

    trim = ["-ss", f"{start_s}"] if start_s is not None else []
    proc = run(
        [
            ffmpeg_exe(),
            "-nostdin",
            "-hide_banner",
            "-nostats",
            *trim,
            "-i",
            ffmpeg_input(path),
            "-map",
            "0:a:0",
            "-af",
            "ebur128",
            "-f",
            "null",
            "-",
        ],
        what="measuring loudness with ffmpeg",
        path=path,
    )
    text = proc.stderr if isinstance(proc.stderr, str) else proc.stderr.decode()
    summary = text[text.rfind("Summary:") :]
    return float(re.search(r"I:\s+(-?[\d.]+) LUFS", summary).group(1))


def test_qc_measures_programme_loudness_after_the_line_up(lineup_master):
    from pipeline.qc.run import qc_file

    profile = make_profile()  # EBU R128 on channels 1-2, the QC tests' profile
    r = qc_file(lineup_master, profile)
    assert r.error is None
    programme = r.measurements["loudness"]
    whole = r.measurements["loudness_file"]
    assert r.measurements["programme"]["start_s"] == pytest.approx(LINEUP_S)
    assert programme["window_start_s"] == pytest.approx(LINEUP_S)
    assert programme["window_end_s"] == pytest.approx(LINEUP_S + PROGRAMME_S, abs=0.05)
    assert programme["lineup_excluded"] is True
    assert (whole["window_start_s"], whole["window_end_s"]) == (0.0, whole["duration_s"])
    # Independent readings: ffmpeg's ebur128 on the programme alone and on the whole file.
    assert programme["integrated_lufs"] == pytest.approx(
        _ffmpeg_integrated(lineup_master, LINEUP_S), abs=0.15
    )
    assert whole["integrated_lufs"] == pytest.approx(
        _ffmpeg_integrated(lineup_master, None), abs=0.15
    )
    # The tone would have made the file read louder: QC must not report that figure.
    assert whole["integrated_lufs"] - programme["integrated_lufs"] > 1.0
    (finding,) = [f for f in r.findings if f.check == "loudness.integrated"]
    assert finding.value == pytest.approx(programme["integrated_lufs"], abs=0.01)
    assert "over the programme (7.00 s–15.00 s, line-up excluded)" in finding.message
    # the series stay whole-file for the report's curve, and are not repeated
    assert len(programme["short_term_series"]) == pytest.approx(150, abs=1)
    assert "short_term_series" not in whole


def test_qc_audio_only_measures_the_whole_file(tmp_path):
    """No picture, no line-up detection: the window is the whole file."""
    from pipeline.qc.run import qc_file
    from pipeline.tools import ffmpeg_exe, run

    dest = tmp_path / "tone_then_noise.wav"
    run(
        [
            ffmpeg_exe(),
            "-nostdin",
            "-v",
            "error",
            "-f",
            "lavfi",
            "-i",
            "aevalsrc=exprs='if(lt(t\\,2)\\,0.12589*sin(2*PI*1000*t)\\,0.1*(2*random(0)-1))'"
            ":s=48000:d=6",
            "-ac",
            "2",
            f"file:{dest}",
        ],
        what="making the audio-only file",
        path=dest,
    )
    profile = make_profile()
    r = qc_file(dest, profile)
    programme, whole = r.measurements["loudness"], r.measurements["loudness_file"]
    assert programme["lineup_excluded"] is False
    assert programme["window_start_s"] == 0.0
    assert programme["integrated_lufs"] == whole["integrated_lufs"]
    (finding,) = [f for f in r.findings if f.check == "loudness.integrated"]
    assert "line-up excluded" not in finding.message
