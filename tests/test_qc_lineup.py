"""Programme by timecode and the measured line-up (pipeline.qc.lineup), on real media.

A PAD-shaped master: bars and 1 kHz tone at -18 dBFS, a MOVING countdown clock, black, then
the programme at 10:00:00:00. The file begins at 09:59:50:00, so the first 10 s are line-up.
The picture alone would take the moving clock for programme and report the black after it.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from pipeline import tools
from pipeline.profiles import load_profile
from pipeline.qc.loudness import measure
from pipeline.qc.run import qc_file

RATE = 48000
SIZE = "320x180"


def _programme_sound(seconds: float, rng: np.random.Generator) -> np.ndarray:
    """Stereo noise scaled to -23 LUFS (BS.1770 on the pair)."""
    x = rng.standard_normal((round(seconds * RATE), 2)) * 0.05
    gain = 10 ** ((-23.0 - measure(x, RATE, [1.0, 1.0]).integrated_lufs) / 20)
    return x * gain


def make_master(
    tmp: Path,
    *,
    start_tc: str,
    lineup: bool,
    layout: str = "ok",
    programme_s: float = 6.0,
) -> Path:
    """8 mono tracks (1-2 mix, 3-4 M&E, 5-8 silence) under a small H.264 picture in a MOV."""
    rng = np.random.default_rng(7)
    head = 10.0 if lineup else 0.0
    n_head = round(head * RATE)
    mix = _programme_sound(programme_s, rng)
    audio = np.zeros((n_head + mix.shape[0], 8))
    if lineup:
        t = np.arange(round(4 * RATE)) / RATE
        tone = 10 ** (-18 / 20) * np.sin(2 * np.pi * 1000 * t)
        audio[: t.shape[0], 0] = audio[: t.shape[0], 1] = tone
    prog = slice(n_head, None)
    me = 0.5 * mix + 0.02 * rng.standard_normal(mix.shape)
    if layout == "mix_on_5_6":
        audio[prog, 4:6] = mix
    else:
        audio[prog, 0:2] = mix
    audio[prog, 2:4] = me[:, ::-1] if layout == "me_swapped" else me
    if layout == "noise_on_7":
        audio[:, 6] = 10 ** (-70 / 20) * rng.standard_normal(audio.shape[0])
    raw = tmp / "audio.f32"
    audio.astype("<f4").tofile(raw)
    parts = []
    if lineup:
        parts = [
            f"smptehdbars=s={SIZE}:r=25:d=4",
            f"testsrc=s={SIZE}:r=25:d=3",  # countdown clock: a moving counter and sweep
            f"color=c=black:s={SIZE}:r=25:d=3",
        ]
    parts.append(f"testsrc2=s={SIZE}:r=25:d={programme_s:g}")
    graph = ";".join(f"{p},format=yuv420p,setsar=1[v{i}]" for i, p in enumerate(parts))
    graph += ";" + "".join(f"[v{i}]" for i in range(len(parts)))
    graph += f"concat=n={len(parts)}:v=1:a=0[v];[1:a]channelsplit=channel_layout=7.1"
    graph += "".join(f"[a{i}]" for i in range(8))
    out = tmp / "master.mov"
    cmd = [tools.ffmpeg_exe(), "-hide_banner", "-nostdin", "-y"]
    cmd += ["-f", "lavfi", "-i", "nullsrc=s=16x16:d=0.04"]
    cmd += ["-f", "f32le", "-ar", str(RATE), "-ac", "8", "-i", str(raw)]
    cmd += ["-filter_complex", graph, "-map", "[v]"]
    for i in range(8):
        cmd += ["-map", f"[a{i}]"]
    cmd += ["-c:v", "libx264", "-preset", "ultrafast", "-g", "25", "-c:a", "pcm_s24le"]
    cmd += ["-timecode", start_tc, str(out)]
    tools.run(cmd, what="making a test master", path=out)
    return out


def pad_profile():
    """fr-pad-hd as bundled, without its format section (the XDCAM/MXF format checks belong
    to pipeline.qc.format and are tested there; this master is a small H.264 picture)."""
    return load_profile("fr-pad-hd").model_copy(update={"format": None})


def test_pad_lineup_with_moving_clock_and_black_is_not_programme(tmp_path: Path) -> None:
    master = make_master(tmp_path, start_tc="09:59:50:00", lineup=True)
    res = qc_file(master, pad_profile())
    assert res.error is None
    lu = res.measurements["lineup"]
    assert lu["by"] == "timecode" and lu["duration_s"] == pytest.approx(10.0)
    # programme (and its loudness) start at 10:00:00:00, not at the clock
    assert res.measurements["programme"]["start_s"] == pytest.approx(10.0)
    assert res.measurements["loudness"]["window_start_s"] == pytest.approx(10.0)
    # nothing found in the line-up: not the clock's black, not the tone's loudness
    in_lineup = [f for f in res.findings if f.start_s is not None and f.start_s < 9.99]
    assert in_lineup == [], [f.message for f in in_lineup]
    # passes: no error; the only warnings are testsrc2's own colours (R103 gamut)
    assert res.verdict.value in ("pass", "warn"), [f.message for f in res.findings]
    assert [f.check for f in res.findings if f.severity.value == "warning"] in (
        [],
        ["levels.gamut"],
    ), [f.message for f in res.findings]
    # the line-up is measured: bars, the moving clock, black, and the tone on 1-2
    assert sum(r["duration_s"] for r in lu["bars"]) == pytest.approx(4.0, abs=0.1)
    assert sum(r["duration_s"] for r in lu["clock"]) == pytest.approx(3.0, abs=0.1)
    assert sum(r["duration_s"] for r in lu["black"]) == pytest.approx(3.0, abs=0.1)
    tones = {t["channel"]: t for t in lu["tone"]}
    assert set(tones) == {1, 2}
    assert tones[1]["frequency_hz"] == pytest.approx(1000, abs=2)
    assert tones[1]["level_dbfs"] == pytest.approx(-18.0, abs=0.1)
    # and the HTML report shows the tone level
    from pipeline.report.qc import write_qc_html

    html = tmp_path / "r.html"
    write_qc_html([res], html, overwrite=True)
    text = html.read_text(encoding="utf-8")
    assert "Line-up tone" in text and "1000 Hz at -18.0 dBFS" in text
    json.dumps(res.model_dump(mode="json"))  # the JSON truth carries it too


def test_without_timecode_the_picture_places_the_programme(tmp_path: Path) -> None:
    """The same line-up with no programme start in the profile: the moving clock is
    programme to the picture analysis, so its black is black inside the programme."""
    master = make_master(tmp_path, start_tc="09:59:50:00", lineup=True)
    res = qc_file(master, pad_profile().model_copy(update={"programme": None}))
    assert res.measurements["programme"]["by"] == "picture"
    assert any(
        f.check == "black" and f.start_s == pytest.approx(7.0, abs=0.1) for f in res.findings
    )


def test_file_starting_after_programme_start_fails(tmp_path: Path) -> None:
    master = make_master(tmp_path, start_tc="10:00:05:00", lineup=False, programme_s=3.0)
    res = qc_file(master, pad_profile())
    starts = [f for f in res.findings if f.check == "programme.start"]
    assert starts and "after the programme start 10:00:00:00" in starts[0].message
    assert res.verdict.value == "fail"
