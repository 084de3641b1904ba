"""`rushline probe` on the generated sample cards reports what the generator wrote."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.probe import probe_file

TOP_FIELDS = (
    "kind", "container", "container_profile", "start_timecode", "reel", "camera",
    "bwf_originator", "bwf_time_reference",
)  # fmt: skip
VIDEO_FIELDS = (
    "codec", "codec_profile", "codec_id", "width", "height", "frame_rate", "frame_count",
    "scan_type", "field_order", "chroma_subsampling", "bit_depth", "colour_primaries",
    "transfer_characteristics", "matrix_coefficients",
)  # fmt: skip
AUDIO_FIELDS = ("codec", "channels", "sample_rate", "bit_depth")


def _expected_media(samples: dict) -> list[dict]:
    entries = [f for card in samples["cards"].values() for f in card["files"]]
    entries += [{"path": m["path"], **m["properties"]} for m in samples["masters"].values()]
    return [e for e in entries if e.get("kind") in ("video", "audio", "photo")]


def _compare(expected: dict, asset) -> list[str]:
    diffs = []
    for key in TOP_FIELDS:
        if key in expected and getattr(asset, key) != expected[key]:
            diffs.append(f"{key}: probe {getattr(asset, key)!r} != generator {expected[key]!r}")
    if "duration_s" in expected and asset.duration_s != pytest.approx(
        expected["duration_s"], abs=0.05
    ):
        diffs.append(f"duration_s: {asset.duration_s} != {expected['duration_s']}")
    if "video" in expected:
        got = asset.video[0] if asset.video else None
        for key in VIDEO_FIELDS:
            if key in expected["video"] and getattr(got, key, None) != expected["video"][key]:
                diffs.append(
                    f"video.{key}: {getattr(got, key, None)!r} != {expected['video'][key]!r}"
                )
    if "audio" in expected:
        want = expected["audio"] if isinstance(expected["audio"], list) else [expected["audio"]]
        if len(asset.audio) != len(want):
            diffs.append(f"audio tracks: {len(asset.audio)} != {len(want)}")
        for got, exp in zip(asset.audio, want, strict=False):
            for key in AUDIO_FIELDS:
                if key in exp and getattr(got, key) != exp[key]:
                    diffs.append(f"audio.{key}: {getattr(got, key)!r} != {exp[key]!r}")
    if "photo" in expected and expected["photo"]:
        for key, value in expected["photo"].items():
            got = getattr(asset.photo, key, None)
            if isinstance(value, float):
                ok = got is not None and got == pytest.approx(value, rel=1e-3)
            else:
                ok = got == value
            if not ok:
                diffs.append(f"photo.{key}: {got!r} != {value!r}")
    return diffs


def test_every_sample_file_probes_as_generated(samples):
    root = Path(samples["root"])
    entries = _expected_media(samples)
    assert len(entries) >= 15
    problems = {}
    for entry in entries:
        asset = probe_file(root / entry["path"])
        diffs = ([f"error: {asset.error}"] if asset.error else []) + _compare(entry, asset)
        if diffs:
            problems[entry["path"]] = diffs
    assert problems == {}


def test_sample_bad_files_are_errors_and_dash_name_reads(samples):
    root = Path(samples["root"])
    misc = samples["misc"]
    for key in ("not_a_video", "empty", "truncated"):
        asset = probe_file(root / misc[key]["path"])
        assert asset.error, key
    dash = probe_file(root / misc["leading_dash"]["path"])
    assert dash.error is None and dash.video
