"""The profile audit of issue 11: every bundled loudness and format value cites its source, the
values changed by the audit equal what their citation says, and the rules the schema cannot
express are stated in the profile's `uncertain` notes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel

from pipeline.profiles import Profile, bundled_dir, load_profile_file

# Keys that say how a value is checked, not what the spec asks: they need no citation.
HOW_NOT_WHAT = {"standard", "layout", "severity", "gating", "require_video"}


def bundled() -> list[Profile]:
    return [load_profile_file(p) for p in sorted(Path(bundled_dir()).glob("*.yaml"))]


def set_keys(model: BaseModel, prefix: str) -> list[str]:
    """Dotted paths of every value the YAML sets explicitly (defaults are not the profile's)."""
    out: list[str] = []
    for name in sorted(model.model_fields_set):
        if name in HOW_NOT_WHAT:
            continue
        value = getattr(model, name)
        path = f"{prefix}.{name}"
        if isinstance(value, BaseModel):
            out += set_keys(value, path)
        else:
            out.append(path)
    return out


def cited(key: str, citations: dict[str, str]) -> bool:
    """A value is cited by its own key or by a section above it ("format.video")."""
    parts = key.split(".")
    return any(".".join(parts[:n]) in citations for n in range(len(parts), 0, -1))


@pytest.mark.parametrize("profile", bundled(), ids=lambda p: p.name)
def test_every_loudness_and_format_value_cites_a_source(profile: Profile) -> None:
    keys: list[str] = []
    for section in ("loudness", "format"):
        spec = getattr(profile, section)
        if spec is not None:
            keys += set_keys(spec, section)
    assert keys, "a bundled profile sets loudness or format values"
    missing = [k for k in keys if not cited(k, profile.source.citations)]
    assert not missing, f"{profile.name}: no source.citations entry for {missing}"
    for key, text in profile.source.citations.items():
        assert key.split(".")[0] in ("loudness", "format"), key
        assert len(text.strip()) > 20, f"{profile.name}: citation of {key} says nothing"


# profile -> dotted key -> value the audit set, checked against the citation the YAML gives.
AUDITED: list[tuple[str, str, Any]] = [
    ("ebu-r128", "loudness.tolerance_lu", 1.0),
    ("ebu-r128", "loudness.max_true_peak_dbtp", -1.0),
    ("ebu-r128-s1", "loudness.tolerance_lu", 1.0),
    ("ebu-r128-s1", "loudness.max_short_term_lufs", -18.0),
    ("fr-pad-hd", "loudness.target_lufs", -23.0),
    ("fr-pad-hd", "loudness.tolerance_lu", 1.0),
    ("fr-pad-hd", "loudness.max_true_peak_dbtp", -3.0),
    ("fr-pad-hd", "loudness.max_lra_lu", 20.0),
    ("fr-pad-hd", "loudness.lra_severity", "warning"),
    ("uk-dpp-as11-hd", "format.audio.channels_per_track", 1),
    ("netflix-prores-hq", "format.video.min_height", 1080),
    ("apple-podcasts", "format.audio.min_bitrate_kbps", 32),
    ("spotify", "loudness.target_lufs", -14.0),
    ("spotify", "loudness.max_true_peak_dbtp", -1.0),
    ("web-h264", "loudness.target_lufs", -18.0),
    ("web-h264", "loudness.tolerance_lu", 2.0),
    ("social-vertical", "format.max_duration_s", 180.0),
    ("social-square", "format.max_duration_s", 180.0),
]
PROFILES = {p.name: p for p in bundled()}


def value_at(profile: Profile, key: str) -> Any:
    node: Any = profile
    for part in key.split("."):
        node = getattr(node, part)
    return node


def citation_of(name: str, key: str) -> str:
    cites = PROFILES[name].source.citations
    parts = key.split(".")
    return next(cites[k] for n in range(len(parts), 0, -1) if (k := ".".join(parts[:n])) in cites)


@pytest.mark.parametrize(
    ("name", "key", "value"),
    AUDITED,
    ids=[f"{n}:{k}={v} [{citation_of(n, k)[:70]}]" for n, k, v in AUDITED],
)
def test_audited_value_equals_its_citation(name: str, key: str, value: Any) -> None:
    assert value_at(PROFILES[name], key) == value
    if isinstance(value, float | int) and not isinstance(value, bool):
        number = f"{abs(value):g}"  # the citation states the number it justifies
        assert number in citation_of(name, key).replace("±", " "), citation_of(name, key)


def test_removed_values_stay_removed() -> None:
    nf = PROFILES["netflix-prores-hq"].format
    assert nf and nf.video
    # native frame rate and >= 1080 lines, not exactly 1920x1080 at fixed rates
    assert (nf.video.width, nf.video.height, nf.video.frame_rates, nf.video.frame_rate) == (
        None,
        None,
        None,
        None,
    )
    yt = PROFILES["youtube"].format
    assert yt and yt.audio
    assert yt.audio.sample_rate is None  # 48 or 96 kHz: one rate cannot be asked
    assert yt.audio.channels_one_of == [2, 8]  # stereo, or stereo + 5.1
    s1 = PROFILES["ebu-r128-s1"].loudness
    assert s1 and s1.max_momentary_lufs is None  # the option left s1 in 2016
    pad = PROFILES["fr-pad-hd"].loudness
    assert pad and pad.max_short_term_lufs is None  # CSA -20 LUFS is for commercials


# Rules the schema cannot express: each must be said in `uncertain` (profile, words it contains).
NOTED: list[tuple[str, tuple[str, ...]]] = [
    ("ebu-r128", ("true-peak measurement", "not verified")),
    ("ebu-r128", ("±0.2 lu",)),
    ("ebu-r128-s1", ("momentary", "removed")),
    ("fr-pad-hd", ("over 2 minutes", "not found")),
    ("fr-pad-hd", ("-20", "commercial")),
    ("fr-pad-hd", ("brick-wall", "warning")),
    ("fr-pad-hd", ("head/tail", "not verified")),
    ("uk-dpp-as11-hd", ("-3 dbtp",)),
    ("uk-dpp-as11-hd", ("3-4", "digital silence")),
    ("uk-dpp-as11-hd", ("r 103", "warning")),
    ("uk-dpp-as11-hd", ("mono", "not verified")),
    ("spotify", ("-2 dbtp", "louder than -14")),
    ("spotify", ("no tolerance",)),
    ("apple-podcasts", ("32 kb/s", "64 kb/s")),
    ("youtube", ("96 khz",)),
    ("netflix-prores-hq", ("native to source", "1080 lines or more")),
    ("web-h264", ("speech", "not read")),
    ("social-vertical", ("3 minutes", "not verified")),
]


@pytest.mark.parametrize(("name", "words"), NOTED, ids=[f"{n}:{w[0]}" for n, w in NOTED])
def test_unexpressible_rules_are_in_the_uncertain_notes(name: str, words: tuple[str, ...]) -> None:
    notes = [" ".join(u.lower().split()) for u in PROFILES[name].source.uncertain]
    assert any(all(w in n for w in words) for n in notes), (name, words)
