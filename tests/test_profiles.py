"""Profiles as data: the loader, its error messages (file, line, key), overrides, the CLI."""

from __future__ import annotations

import json
import re
import textwrap
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from pipeline.cli import app
from pipeline.errors import ProfileError
from pipeline.profiles import (
    Profile,
    bundled_dir,
    format_summary,
    list_profiles,
    load_profile,
    load_profile_file,
    loudness_summary,
    parse_profile,
)

REQUIRED_BUNDLED = {
    "ebu-r128",
    "ebu-r128-s1",
    "fr-pad-hd",
    "uk-dpp-as11-hd",
    "atsc-a85",
    "netflix-prores-hq",
    "apple-podcasts",
    "youtube",
    "web-h264",
    "social-vertical",
}

MINIMAL = """\
name: {name}
title: A test profile
summary: for tests
kind: web
source:
  document: test
loudness:
  standard: EBU R128
  target_lufs: {target}
  max_true_peak_dbtp: -1.0
"""


@pytest.fixture
def user_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty user profile folder, and only that one (the real ~/.config is never read)."""
    d = tmp_path / "user-profiles"
    d.mkdir()
    monkeypatch.setenv("RUSHLINE_PROFILES", str(d))
    return d


def _write(folder: Path, name: str, text: str) -> Path:
    p = folder / f"{name}.yaml"
    p.write_text(textwrap.dedent(text), encoding="utf-8")
    return p


# --- the bundled profiles ---------------------------------------------------------------------


def test_every_bundled_profile_loads_and_cites_its_source(user_dir: Path) -> None:
    files = sorted(bundled_dir().glob("*.yaml"))
    names = {f.stem for f in files}
    assert REQUIRED_BUNDLED <= names, f"missing bundled profiles: {REQUIRED_BUNDLED - names}"
    assert len(files) >= 10
    for f in files:
        p = load_profile_file(f)
        assert p.name == f.stem
        assert p.source.document.strip()
        assert p.summary and "\n" not in p.summary


def test_bundled_values_match_the_specs(user_dir: Path) -> None:
    pad = load_profile("fr-pad-hd")
    assert pad.loudness and pad.format and pad.format.video and pad.format.audio
    assert (pad.loudness.target_lufs, pad.loudness.tolerance_lu) == (-23.0, 1.0)
    assert pad.loudness.max_true_peak_dbtp == -3.0
    assert pad.format.container == ["MXF"] and pad.format.operational_pattern == "OP-1a"
    v, a = pad.format.video, pad.format.audio
    assert (v.width, v.height, v.frame_rate, v.scan_type, v.field_order) == (
        1920,
        1080,
        25.0,
        "interlaced",
        "tff",
    )
    assert v.min_bitrate_mbps <= 50 <= v.max_bitrate_mbps
    assert (a.tracks, a.channels, a.bit_depth, a.sample_rate) == (8, 8, 24, 48000)
    # the programme starts at 10:00:00:00; the file may begin earlier with line-up
    assert pad.format.start_timecode is None
    assert pad.programme and pad.programme.start_timecode == "10:00:00:00"
    assert pad.audio and pad.audio.tracks[:4] == ["stereo_l", "stereo_r", "me_l", "me_r"]
    # pre-roll and fades at programme boundaries are expected in a PAD
    assert pad.picture.black.head_allowed_s > 0

    r128 = load_profile("ebu-r128").loudness
    assert r128 and (r128.target_lufs, r128.max_true_peak_dbtp) == (-23.0, -1.0)
    s1 = load_profile("ebu-r128-s1").loudness
    assert s1 and s1.max_short_term_lufs == -18.0
    a85 = load_profile("atsc-a85").loudness
    assert a85 and (a85.target_lufs, a85.tolerance_lu, a85.max_true_peak_dbtp) == (-24, 2, -2)
    podcast = load_profile("apple-podcasts")
    assert podcast.loudness and podcast.loudness.target_lufs == -16.0
    assert podcast.format and podcast.format.require_video is False
    social = load_profile("social-vertical").format
    assert social and social.video and (social.video.width, social.video.height) == (1080, 1920)
    assert social.max_duration_s
    nf = load_profile("netflix-prores-hq")
    assert nf.format and nf.format.video and nf.format.video.profile == ["422 HQ"]
    # dialogue gating is not implemented: the profile must say so
    assert any("dialogue" in u.lower() for u in nf.source.uncertain)


def test_summaries_read_like_a_spec_sheet(user_dir: Path) -> None:
    pad = load_profile("fr-pad-hd")
    assert loudness_summary(pad.loudness) == "-23 LUFS ±1 LU, TP -3 dBTP"
    line = format_summary(pad.format, pad.programme)
    for part in ("MXF OP-1a", "MPEG Video 4:2:2@High", "1920x1080i25 TFF", "PCM 8×24-bit"):
        assert part in line
    assert "TC 10:00:00:00" in line
    assert loudness_summary(None) == "—"
    assert format_summary(None) == "any format"


# --- errors name the file, the line and the key -----------------------------------------------


def test_unknown_key_names_file_line_key_and_suggests(tmp_path: Path) -> None:
    f = _write(
        tmp_path,
        "typo",
        """\
        name: typo
        title: t
        summary: s
        kind: broadcast
        source:
          document: d
        loudness:
          standard: EBU R128
          target_lfus: -23
          max_true_peak_dbtp: -1
        """,
    )
    with pytest.raises(ProfileError) as exc:
        load_profile_file(f)
    msg = str(exc.value)
    assert re.search(r"typo\.yaml:9: loudness\.target_lfus: unknown key", msg)
    assert "did you mean 'target_lufs'?" in msg
    # the key that is now missing is reported at its mapping ("loudness:", line 7)
    assert re.search(r"typo\.yaml:7: loudness\.target_lufs: required key is missing", msg)


def test_wrong_type_says_what_it_got(tmp_path: Path) -> None:
    f = _write(
        tmp_path,
        "badnum",
        """\
        name: badnum
        title: t
        summary: s
        kind: broadcast
        source: {document: d}
        loudness:
          standard: EBU R128
          target_lufs: -23
          max_true_peak_dbtp: minus three
        format:
          severity: fatal
        """,
    )
    with pytest.raises(ProfileError) as exc:
        load_profile_file(f)
    lines = str(exc.value).splitlines()
    assert any(
        re.search(r"badnum\.yaml:9: loudness\.max_true_peak_dbtp: .*valid number.*'minus three'", x)
        for x in lines
    )
    assert any(re.search(r"badnum\.yaml:11: format\.severity: .*got 'fatal'", x) for x in lines)


def test_nested_unknown_key_in_a_list_item_context(tmp_path: Path) -> None:
    f = _write(
        tmp_path,
        "deep",
        """\
        name: deep
        title: t
        summary: s
        kind: web
        source: {document: d}
        format:
          video:
            codec: [AVC]
            framerate: 25
        """,
    )
    with pytest.raises(ProfileError, match=r"deep\.yaml:9: format\.video\.framerate: unknown key "
                       r"\(did you mean 'frame_rate'\?\)"):  # fmt: skip
        load_profile_file(f)


def test_name_must_equal_the_file_stem(tmp_path: Path) -> None:
    f = tmp_path / "my-pad.yaml"
    f.write_text(MINIMAL.format(name="other-name", target=-23), encoding="utf-8")
    with pytest.raises(ProfileError, match=r"my-pad\.yaml:1: name: 'other-name' must equal"):
        load_profile_file(f)


def test_yaml_syntax_error_duplicate_key_and_empty_file(tmp_path: Path) -> None:
    bad = tmp_path / "broken.yaml"
    bad.write_text("name: broken\ntitle: [unclosed\nsummary: s\n", encoding="utf-8")
    with pytest.raises(ProfileError, match=r"broken\.yaml:\d+: not valid YAML"):
        load_profile_file(bad)
    dup = tmp_path / "dup.yaml"
    dup.write_text(
        MINIMAL.format(name="dup", target=-23) + "  target_lufs: -16\n", encoding="utf-8"
    )
    with pytest.raises(ProfileError, match=r"dup\.yaml:11: loudness\.target_lufs: duplicate key"):
        load_profile_file(dup)
    empty = tmp_path / "empty.yaml"
    empty.write_text("# nothing here\n", encoding="utf-8")
    with pytest.raises(ProfileError, match=r"empty\.yaml:1: the profile file is empty"):
        load_profile_file(empty)
    scalar = tmp_path / "scalar.yaml"
    scalar.write_text("just a string\n", encoding="utf-8")
    with pytest.raises(ProfileError, match=r"scalar\.yaml:1: a profile is a mapping"):
        load_profile_file(scalar)


def test_parse_profile_from_text_round_trips_the_resolved_dump() -> None:
    p = parse_profile(MINIMAL.format(name="x", target=-16))
    again = Profile.model_validate(yaml.safe_load(yaml.safe_dump(p.model_dump(mode="json"))))
    assert again == p
    assert p.picture.black.enabled is True  # defaults come from the models


# --- resolution: user folders override the bundled ones ----------------------------------------


def test_user_folder_overrides_bundled(user_dir: Path) -> None:
    _write(user_dir, "ebu-r128", MINIMAL.format(name="ebu-r128", target=-24))
    p = load_profile("ebu-r128")
    assert p.loudness and p.loudness.target_lufs == -24
    entry = next(e for e in list_profiles() if e.name == "ebu-r128")
    assert entry.origin == "user" and entry.overrides is True
    others = [e for e in list_profiles() if e.name == "fr-pad-hd"]
    assert others and others[0].origin == "bundled" and others[0].overrides is False


def test_several_user_folders_first_wins(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir()
    b.mkdir()
    _write(a, "house", MINIMAL.format(name="house", target=-20))
    _write(b, "house", MINIMAL.format(name="house", target=-30))
    monkeypatch.setenv("RUSHLINE_PROFILES", f"{a}{__import__('os').pathsep}{b}")
    p = load_profile("house")
    assert p.loudness and p.loudness.target_lufs == -20


def test_load_by_path_including_a_leading_dash(user_dir: Path, tmp_path: Path) -> None:
    f = tmp_path / "-odd.yaml"
    f.write_text(MINIMAL.format(name="-odd", target=-23), encoding="utf-8")
    assert load_profile(f).name == "-odd"
    assert load_profile(str(f)).name == "-odd"


def test_unknown_name_lists_the_available_ones_with_a_suggestion(user_dir: Path) -> None:
    with pytest.raises(ProfileError) as exc:
        load_profile("fr-pad-hdd")
    msg = str(exc.value)
    assert "unknown profile 'fr-pad-hdd'" in msg
    assert "did you mean 'fr-pad-hd'" in msg
    assert "ebu-r128" in msg and "youtube" in msg


def test_listing_survives_a_broken_user_file(user_dir: Path) -> None:
    _write(user_dir, "broken", MINIMAL.format(name="broken", target="loud"))
    entries = {e.name: e for e in list_profiles()}
    assert entries["broken"].profile is None
    assert entries["broken"].error and "broken.yaml:9: loudness.target_lufs" in entries[
        "broken"
    ].error.replace("\\", "/")
    assert entries["fr-pad-hd"].profile is not None  # the others are still listed
    assert REQUIRED_BUNDLED <= set(entries)


def test_subfolders_are_not_profiles(user_dir: Path) -> None:
    (user_dir / "rights").mkdir()
    _write(user_dir / "rights", "agency", "not: a profile\n")
    assert "agency" not in {e.name for e in list_profiles()}


# --- the CLI ----------------------------------------------------------------------------------

runner = CliRunner()


def test_cli_lists_profiles_with_override_marker(user_dir: Path) -> None:
    _write(user_dir, "youtube", MINIMAL.format(name="youtube", target=-13))
    res = runner.invoke(app, ["profiles", "--json"])
    assert res.exit_code == 0, res.output
    rows = {r["name"]: r for r in json.loads(res.stdout)}
    assert REQUIRED_BUNDLED <= set(rows)
    assert rows["youtube"]["overrides"] is True and rows["youtube"]["origin"] == "user"
    assert rows["youtube"]["loudness"].startswith("-13 LUFS")
    assert rows["fr-pad-hd"]["loudness"] == "-23 LUFS ±1 LU, TP -3 dBTP"
    table = runner.invoke(app, ["profiles"], env={"COLUMNS": "250"})
    assert table.exit_code == 0
    assert "fr-pad-hd" in table.stdout and "user (overrides)" in table.stdout


def test_cli_show_prints_the_resolved_profile(user_dir: Path) -> None:
    res = runner.invoke(app, ["profiles", "show", "ebu-r128-s1"])
    assert res.exit_code == 0, res.output
    body = "\n".join(x for x in res.stdout.splitlines() if not x.startswith("#"))
    data = yaml.safe_load(body)
    assert data["loudness"]["max_short_term_lufs"] == -18.0
    assert data["picture"]["black"]["min_duration_s"] == 0.2  # defaults are resolved
    js = runner.invoke(app, ["profiles", "show", "fr-pad-hd", "--json"])
    assert json.loads(js.stdout)["programme"]["start_timecode"] == "10:00:00:00"
    missing = runner.invoke(app, ["profiles", "show", "nope-nope"])
    assert missing.exit_code == 2
    assert "unknown profile 'nope-nope'" in missing.stderr
    assert "Traceback" not in missing.output


def test_cli_check_batch_goes_on_and_exits_2(tmp_path: Path) -> None:
    good = tmp_path / "good.yaml"
    good.write_text(MINIMAL.format(name="good", target=-23), encoding="utf-8")
    bad = _write(
        tmp_path,
        "bad",
        MINIMAL.format(name="bad", target=-23).replace("standard:", "standrad:"),
    )
    res = runner.invoke(app, ["profiles", "check", str(bad), str(good)])
    assert res.exit_code == 2
    assert re.search(r"bad\.yaml:8: loudness\.standrad: unknown key", res.stderr)
    assert "ok" in res.stdout and "good" in res.stdout  # the file after the bad one was checked
    assert "Traceback" not in res.output
    ok = runner.invoke(app, ["profiles", "check", str(good), "--json"])
    assert ok.exit_code == 0 and json.loads(ok.stdout)[0]["ok"] is True


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        # the key is found through `RightsRequirement | None` (pydantic's union tag is dropped)
        ("rights: {required_fields: 3}", r"x\.yaml:6: rights\.required_fields: .*valid list"),
        ("Loudness: {}", r"x\.yaml:6: Loudness: unknown key \(did you mean 'loudness'\?\)"),
        (
            "picture:\n  black:\n    head_allowed: 2",
            r"x\.yaml:8: picture\.black\.head_allowed: unknown key .*'head_allowed_s'",
        ),
        (
            "format:\n  video:\n    min_bitrate_mbps: 60\n    max_bitrate_mbps: 50",
            r"x\.yaml:7: format\.video: min_bitrate_mbps \(60\) is above max_bitrate_mbps",
        ),
        (
            "format:\n  video:\n    scan_type: progressive\n    field_order: tff",
            r"x\.yaml:7: format\.video: field_order only applies to interlaced",
        ),
        ("kind: radio", r"x\.yaml:4: kind: .*got 'radio'"),
    ],
)
def test_error_lines_for_nested_and_semantic_mistakes(extra: str, expected: str) -> None:
    head = "name: x\ntitle: t\nsummary: s\nkind: web\nsource: {document: d}\n"
    if extra.startswith("kind:"):
        head = head.replace("kind: web\n", "")
        head = head.replace("summary: s\n", "summary: s\n" + extra + "\n")
        extra = ""
    with pytest.raises(ProfileError) as exc:
        parse_profile(head + extra + "\n", source="x.yaml")
    assert re.search(expected, str(exc.value)), str(exc.value)
