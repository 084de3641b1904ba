"""QC engine on real ffmpeg-made media: what must be found is found, the deliberate
non-problems (night scene, room tone, still card) are not."""

from __future__ import annotations

import numpy as np
import pytest
from qc_media import PROGRAMME, build_all

from pipeline.profiles import (
    FreezeSpec,
    LoudnessSpec,
    PictureSpec,
    Profile,
    SilenceSpec,
    SoundSpec,
    SourceRef,
)
from pipeline.qc.findings import Finding, QCResult, Severity, Verdict

FRAME = 1 / 25


def make_profile(**kw) -> Profile:
    base = dict(
        name="test",
        title="Test profile",
        summary="made in the test",
        kind="broadcast",
        source=SourceRef(document="tests"),
        loudness=LoudnessSpec(
            standard="EBU R128",
            target_lufs=-23.0,
            tolerance_lu=1.0,
            max_true_peak_dbtp=-1.0,
            channels=[1, 2],
            layout="stereo",
        ),
    )
    base.update(kw)
    return Profile(**base)


@pytest.fixture(scope="module")
def media():
    return build_all()


@pytest.fixture(scope="module")
def programme(media, tmp_path_factory) -> QCResult:
    from pipeline.qc.run import qc_file

    thumbs = tmp_path_factory.mktemp("report") / "prog_thumbs"
    return qc_file(media["programme.mov"], make_profile(), thumbnails_dir=thumbs)


def by_check(result: QCResult, check: str) -> list[Finding]:
    return [f for f in result.findings if f.check == check]


def overlaps(f: Finding, span: tuple[float, float]) -> bool:
    return f.start_s is not None and f.start_s < span[1] and (f.end_s or f.start_s) > span[0]


def test_programme_is_measured_in_one_pass(programme):
    assert programme.error is None
    assert programme.verdict == Verdict.FAIL
    dec = programme.measurements["decode"]
    assert dec["frames"] == 325  # 13 s at 25 fps, every frame seen
    assert dec["audio_channels"] == 2
    assert dec["analysis_size"] == [480, 270]
    for key in ("integrated_lufs", "lra_lu", "true_peak_dbtp", "momentary_max_lufs"):
        assert key in programme.measurements["loudness"]
    assert by_check(programme, "decode") == []  # a clean file: ffmpeg complained about nothing


def test_mid_programme_black_found_on_frame_boundaries(programme):
    (mid,) = by_check(programme, "black")
    assert mid.severity == Severity.ERROR
    assert mid.start_s == pytest.approx(PROGRAMME["black_mid"][0], abs=1e-6)
    assert mid.end_s == pytest.approx(PROGRAMME["black_mid"][1], abs=1e-6)


def test_fade_to_black_at_tail_starts_at_the_first_black_frame(programme):
    (tail,) = by_check(programme, "black.tail")
    # the fade reaches black exactly at 12.48 s: within one frame
    assert abs(tail.start_s - PROGRAMME["black_tail"][0]) <= FRAME + 1e-6
    assert tail.end_s == pytest.approx(13.0)


def test_dark_night_scene_is_not_black(programme):
    night = PROGRAMME["night"]
    for seg in programme.measurements["black"]:
        assert not (seg["start_s"] < night[1] and seg["end_s"] > night[0]), seg


def test_freeze_found_and_still_card_is_not_a_freeze(programme):
    (freeze,) = by_check(programme, "freeze")
    assert freeze.severity == Severity.WARNING
    assert abs(freeze.start_s - PROGRAMME["freeze"][0]) <= FRAME + 1e-6
    assert freeze.end_s == pytest.approx(PROGRAMME["freeze"][1], abs=FRAME)
    (still,) = by_check(programme, "freeze.still")
    assert still.severity == Severity.INFO
    assert still.start_s == pytest.approx(PROGRAMME["still"][0], abs=FRAME)
    assert not any(overlaps(f, PROGRAMME["still"]) for f in by_check(programme, "freeze"))


def test_strobe_fails_the_flash_rule(programme):
    (flash,) = by_check(programme, "flashes")
    assert flash.severity == Severity.ERROR
    assert flash.value > 3  # 6.25 Hz strobe
    assert abs(flash.start_s - PROGRAMME["strobe"][0]) <= 2 * FRAME
    # nowhere else: cuts and the fade are single transitions, not flashes
    spans = programme.measurements["flashes"]["luminance"]["spans"]
    assert len(spans) == 1


def test_silence_found_and_room_tone_is_not_silence(programme):
    (silence,) = by_check(programme, "silence")
    assert silence.start_s == pytest.approx(PROGRAMME["silence"][0], abs=0.1)
    assert silence.end_s == pytest.approx(PROGRAMME["silence"][1], abs=0.1)
    assert not any(overlaps(f, PROGRAMME["room_tone"]) for f in by_check(programme, "silence"))
    assert programme.measurements["silent_channels"] == []


def test_clipping_found_on_both_channels(programme):
    clips = by_check(programme, "clipping")
    assert sorted(f.channel for f in clips) == [1, 2]
    for f in clips:
        assert PROGRAMME["clipping"][0] <= f.start_s < f.end_s <= PROGRAMME["clipping"][1]


def test_out_of_phase_pair_found(programme):
    (phase,) = by_check(programme, "phase")
    assert phase.value == pytest.approx(-1.0, abs=0.01)
    assert phase.start_s == pytest.approx(PROGRAMME["phase"][0], abs=0.1)
    assert phase.end_s == pytest.approx(PROGRAMME["phase"][1], abs=0.1)


def test_legal_picture_has_no_levels_finding(programme):
    assert by_check(programme, "levels.luma") == []
    assert by_check(programme, "levels.gamut") == []
    assert programme.measurements["levels"]["max_rgb_out_of_range_percent"] < 1.0


def test_picture_findings_get_thumbnails(programme, tmp_path_factory):
    pictured = [f for f in programme.findings if f.check in ("black", "freeze", "flashes")]
    assert pictured and all(f.thumbnail for f in pictured)
    assert all(f.thumbnail.startswith("prog_thumbs/") for f in pictured)


def test_progressive_picture_is_not_reported_as_interlaced(programme):
    assert programme.measurements["interlace"]["evidence"] in ("progressive", "unknown")
    assert not [f for f in programme.findings if f.check.startswith("interlace")]


def test_out_of_gamut_picture_breaks_r103(media):
    from pipeline.qc.run import qc_file

    r = qc_file(media["illegal.mov"], make_profile(loudness=None))
    (gamut,) = by_check(r, "levels.gamut")
    assert gamut.value == pytest.approx(50.0, abs=1.0)  # the top half of the picture
    assert gamut.start_s == pytest.approx(1.0) and gamut.end_s == pytest.approx(3.0)
    assert "tagged" not in gamut.message  # no matrix mix-up explains it: it is illegal
    assert r.verdict == Verdict.WARN  # levels are warnings by default


def test_red_flashes_without_luminance_flashes(media):
    from pipeline.qc.run import qc_file

    r = qc_file(media["red_flashes.mov"], make_profile(loudness=None))
    assert by_check(r, "flashes") == []
    (red,) = by_check(r, "flashes.red")
    assert red.value > 3


@pytest.mark.parametrize(
    ("name", "check", "evidence"),
    [
        ("interlaced_tff.mp4", None, "tff"),
        ("interlaced_declared_bff.mp4", "interlace.field_order", "tff"),
        ("interlaced_declared_prog.mp4", "interlace", "tff"),
    ],
)
def test_interlace_evidence_against_declaration(media, name, check, evidence):
    from pipeline.qc.run import qc_file

    r = qc_file(media[name], make_profile(loudness=None))
    assert r.measurements["interlace"]["evidence"] == evidence
    found = [f.check for f in r.findings if f.check.startswith("interlace")]
    assert found == ([check] if check else [])


def test_audio_only_room_tone_is_neither_silence_nor_phase_problem(media):
    from pipeline.qc.run import qc_file

    r = qc_file(media["room_tone.wav"], make_profile())
    assert r.error is None
    assert "black" not in r.measurements  # no picture checks on audio
    assert by_check(r, "silence") == [] and by_check(r, "silence.channel") == []
    assert r.measurements["loudness"]["integrated_lufs"] < -40
    assert by_check(r, "loudness.integrated")[0].severity == Severity.ERROR


def test_profile_limits_drive_the_checks(media):
    """A longer freeze minimum and a silence threshold under the room tone change the answer."""
    from pipeline.qc.run import qc_file

    prof = make_profile(
        picture=PictureSpec(freeze=FreezeSpec(min_duration_s=3.0)),
        sound=SoundSpec(silence=SilenceSpec(threshold_dbfs=-50.0)),
    )
    r = qc_file(media["programme.mov"], prof)
    assert by_check(r, "freeze") == []  # the 2.56 s freeze is now below the minimum
    (silence,) = by_check(r, "silence")
    assert silence.end_s == pytest.approx(PROGRAMME["room_tone"][1], abs=0.1)


def test_disabled_check_does_not_run(media):
    from pipeline.qc.run import qc_file

    prof = make_profile(picture=PictureSpec(freeze=FreezeSpec(enabled=False)))
    r = qc_file(media["programme.mov"], prof)
    assert "freeze" not in r.measurements
    assert by_check(r, "freeze") == [] and by_check(r, "freeze.still") == []


def test_line_up_before_the_programme_is_not_a_finding(media):
    """Bars, a slate and head black in silence: measured, but inside the head allowance and
    not programme, so no finding; with no allowance the head black and silence are found."""
    from pipeline.profiles import BlackSpec
    from pipeline.qc.run import qc_file

    allow = make_profile(
        picture=PictureSpec(black=BlackSpec(head_allowed_s=3.0)),
        sound=SoundSpec(silence=SilenceSpec(head_allowed_s=3.0)),
    )
    r = qc_file(media["lineup.mov"], allow)
    assert r.measurements["programme"]["start_s"] == pytest.approx(5.0)
    assert r.measurements["black"] == [
        {"start_s": 4.0, "end_s": 5.0, "duration_s": 1.0, "where": "head"}
    ]
    assert r.measurements["silence"][0]["where"] == "head"
    picture_or_silence = [
        f for f in r.findings if f.check.split(".")[0] in ("black", "freeze", "levels", "silence")
    ]
    assert picture_or_silence == []
    strict = qc_file(media["lineup.mov"], make_profile())
    found = {f.check for f in strict.findings}
    assert {"black.head", "silence"} <= found
    (silence,) = by_check(strict, "silence")
    assert "at the head" in silence.message


# --- units --------------------------------------------------------------------------------------


def test_flash_pairs_need_opposing_transitions_within_a_second():
    from pipeline.qc.picture import flash_times

    dirs = [0, 1, 0, -1, 0, 1, -1] + [0] * 40 + [1] + [0] * 30 + [-1]
    assert flash_times(dirs, 25.0) == [(1, 3), (5, 6)]


def test_runs_are_half_open_frame_ranges():
    from pipeline.qc.picture import runs

    segs = runs(np.array([0, 1, 1, 0, 1], dtype=bool))
    assert [(s.start, s.end) for s in segs] == [(1, 3), (4, 5)]


def test_clipping_runs_are_found_across_block_boundaries():
    from pipeline.qc.sound import SoundAnalysis

    prof = make_profile(loudness=None)
    sa = SoundAnalysis(profile=prof, sample_rate=48000, channels=2)
    x = np.zeros((9600, 2), dtype=np.float32)
    x[998:1002, 0] = 1.0  # a 4-sample run across the first block edge at 1000
    x[5000:5002, 1] = -1.0  # 2 samples: below the 3-sample minimum
    x[9598:, 1] = 1.0  # a run that reaches the end of the file
    for a, b in ((0, 1000), (1000, 4321), (4321, 9600)):
        sa.feed(x[a:b])
    sa.finish()
    sa.close_clipping()
    assert sa.clips[0] == [(998, 4)]
    assert sa.clips[1] == []  # the final run is only 2 samples
    x[9597, 1] = 1.0
    sa2 = SoundAnalysis(profile=prof, sample_rate=48000, channels=2)
    sa2.feed(x)
    sa2.close_clipping()
    assert sa2.clips[1] == [(9597, 3)]


def test_registry_adds_a_check_with_one_decorator(media):
    from pipeline.qc import registry
    from pipeline.qc.run import qc_file

    @registry.qc_check("test.mean_luma", domain="picture", enabled=lambda p: p.name == "test")
    def mean_luma(m, profile):
        mean = float(np.mean(m.picture.mean_luma))
        return [Finding(check="test.mean_luma", severity=Severity.INFO, message="", value=mean)]

    try:
        r = qc_file(media["video_only.mov"], make_profile(loudness=None))
        (f,) = by_check(r, "test.mean_luma")
        assert 0.1 < f.value < 0.9
        other = qc_file(media["video_only.mov"], make_profile(name="other", loudness=None))
        assert by_check(other, "test.mean_luma") == []
    finally:
        registry._CHECKS.pop("test.mean_luma", None)


def test_qc_files_goes_on_after_a_bad_file(media, tmp_path):
    from pipeline.qc.run import exit_code_for, qc_files

    results = qc_files(
        [media["zero_channels.wav"], media["illegal.mov"]],
        make_profile(loudness=None),
        thumbnails_root=tmp_path,
    )
    assert [r.verdict for r in results] == [Verdict.ERROR, Verdict.WARN]
    assert exit_code_for(results) == 2
    (gamut,) = by_check(results[1], "levels.gamut")
    assert (tmp_path / gamut.thumbnail).is_file()


@pytest.mark.parametrize("where", ["video", "audio"])
def test_a_failing_check_stops_the_pass_without_hanging(media, where):
    """A bug in a check must surface as its exception, with ffmpeg stopped, not a deadlock."""
    from pipeline.qc.decode import decode_pass, probe_layout

    layout = probe_layout(media["programme.mov"])
    seen = {"frames": 0, "blocks": 0}

    def on_frame(i, planes):
        seen["frames"] += 1
        if where == "video" and i == 5:
            raise ValueError("broken picture check")

    def on_audio(block):
        seen["blocks"] += 1
        if where == "audio" and seen["blocks"] == 2:
            raise ValueError("broken sound check")

    with pytest.raises(ValueError, match=f"broken {'picture' if where == 'video' else 'sound'}"):
        decode_pass(layout, on_frame=on_frame, on_audio=on_audio)
    if where == "video":
        assert seen["frames"] == 6
    else:
        assert seen["blocks"] == 2
