"""`make demo`'s flow, end to end on the generated sample media (the product's main job)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pipeline.profiles import load_profile
from pipeline.qc.expected import compare_expected


def test_compare_expected_finds_misses_and_false_alarms():
    expected = {
        "intervals": {"night": {"start_s": 22.0, "end_s": 28.0}},
        "should_fire": [
            {"check": "black", "start_s": 42.0, "end_s": 43.0, "why": "mid black"},
            {"check": "freeze", "start_s": 35.0, "end_s": 38.0, "why": "freeze"},
            {"check": "silent_channels", "channels": [5, 6], "why": "silent tracks"},
        ],
        "must_not_fire": [{"check": "black", "interval": "night", "why": "dark, not black"}],
    }
    result = {
        "findings": [
            {"check": "black", "severity": "error", "start_s": 42.0, "end_s": 43.0},
            {"check": "black", "severity": "error", "start_s": 23.0, "end_s": 24.0},
            {"check": "silence.channel", "severity": "warning", "start_s": None},
            {"check": "silence.channel", "severity": "warning", "start_s": None},
        ]
    }
    check = compare_expected(expected, result)
    assert check["found"] == ["black: mid black", "silent_channels: silent tracks"]
    assert check["missed"] == ["freeze: freeze"]
    assert check["false_alarms"] == ["black at 23.00 s: dark, not black"]


@pytest.mark.flow
def test_demo_runs_the_whole_day_on_the_samples(samples, tmp_path, prefect_harness):
    from flows.demo import demo_flow

    out = tmp_path / "demo"
    summary = demo_flow(samples["root"], str(out))
    stages = summary["stages"]
    assert stages["probe"]["errors"] == []  # cards and masters only: every file readable
    assert stages["probe"]["media"] >= 15
    # Every card offloaded to both drives, verified, with an ASC MHL history on each.
    assert stages["offload"]["verdict"] == "pass"
    assert len(stages["offload"]["rolls"]) == len(samples["cards"])
    for roll in stages["offload"]["rolls"]:
        assert roll["exit_code"] == 0
        for dest in roll["destinations"]:
            assert list((Path(dest) / "ascmhl").glob("*.mhl"))
    # Rights: sidecars for the originals, nothing silently skipped.
    assert stages["rights"]["verdict"] == "pass"
    assert {r["action"] for r in stages["rights"]["results"]} == {"sidecar"}
    # QC: the master fails French PAD for exactly the designed reasons.
    qc = stages["qc"]
    assert qc["verdict"] == "fail"
    assert qc["expected"]["missed"] == []
    assert qc["expected"]["false_alarms"] == []
    assert len(qc["expected"]["found"]) == len(
        json.loads(
            (Path(samples["root"]) / "masters" / "PROGRAMME_MASTER.expected.json").read_text()
        )["should_fire"]
    )
    # Deliver: the clean promo becomes a PAD and a web version, each QC'd and passing, at the
    # profile's loudness, with rights carried (embedded, or a sidecar for MXF).
    deliver = stages["deliver"]
    assert deliver["verdict"] == "pass"
    made = {d["profile"]: d for d in deliver["deliverables"]}
    assert set(made) == {"fr-pad-hd", "web-h264"}
    for profile, d in made.items():
        target = load_profile(profile).loudness.target_lufs
        assert d["status"] == "delivered" and d["qc_verdict"] == "pass"
        assert abs(d["measured"]["integrated_lufs"] - target) <= 0.1, d["measured"]
        assert d["rights"], f"{profile}: no rights carried"
    assert Path(deliver["manifest"]).is_file()
    # Photo: ingested, picked from in-camera ratings, exported, sheets and portfolio made.
    photo = stages["photo"]
    assert photo["verdict"] == "pass" and photo["failed"] == []
    assert len(photo["exports"]["print"]) == 2  # the 4- and 5-star JPEGs
    assert Path(photo["contact_sheet"]).is_file() and Path(photo["report_html"]).is_file()
    saved = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert saved["stages"]["qc"]["verdict"] == "fail"
    assert (out / "summary.html").is_file()
    assert saved["tools"]["ffmpeg"]
