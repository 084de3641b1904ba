"""Track roles against the profile's `audio.tracks` (fr-pad-hd: stereo mix 1-2, M&E 3-4,
5-8 unused), on real 8-track masters made with ffmpeg (see tests/test_qc_lineup.py)."""

from __future__ import annotations

from pathlib import Path

from test_qc_lineup import make_master, pad_profile

from pipeline.qc.run import qc_file


def _qc(tmp: Path, layout: str):
    master = make_master(tmp, start_tc="10:00:00:00", lineup=False, layout=layout, programme_s=4)
    res = qc_file(master, pad_profile())
    assert res.error is None
    return res


def test_good_layout_has_no_track_findings(tmp_path: Path) -> None:
    res = _qc(tmp_path, "ok")
    assert [f.message for f in res.findings if f.check.startswith("tracks")] == []
    mixes = res.measurements["loudness_mixes"]
    assert mixes["me"]["channels"] == [3, 4] and mixes["me"]["integrated_lufs"] is not None


def test_stereo_mix_on_the_wrong_tracks_fails_naming_it(tmp_path: Path) -> None:
    res = _qc(tmp_path, "mix_on_5_6")
    assert res.verdict.value == "fail"
    silent = [f for f in res.findings if f.check == "tracks.silent_pair"]
    assert silent and "stereo mix (tracks 1-2) is silent" in silent[0].message
    assert "5, 6" in silent[0].message
    assert {f.channel for f in res.findings if f.check == "tracks.unused"} == {5, 6}


def test_noise_on_an_unused_track_fails_naming_the_track(tmp_path: Path) -> None:
    res = _qc(tmp_path, "noise_on_7")
    unused = [f for f in res.findings if f.check == "tracks.unused"]
    assert [f.channel for f in unused] == [7]
    assert unused[0].severity.value == "error" and "track 7" in unused[0].message
    assert res.verdict.value == "fail"


def test_swapped_me_pair_is_flagged(tmp_path: Path) -> None:
    res = _qc(tmp_path, "me_swapped")
    swapped = [f for f in res.findings if f.check == "tracks.swapped"]
    assert swapped and "M&E (tracks 3-4)" in swapped[0].message
