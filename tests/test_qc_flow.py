"""The QC batch flow on the embedded Prefect API: mapped tasks, one bad file, reports."""

from __future__ import annotations

import json

import pytest
from qc_media import build_all


@pytest.mark.flow
def test_qc_batch_flow_reports_every_file(tmp_path, prefect_harness):
    from flows.qc import qc_batch_flow

    media = build_all()
    profile = tmp_path / "p.yaml"
    profile.write_text(
        "name: p\ntitle: P\nsummary: tests\nkind: web\nsource:\n  document: tests\n",
        encoding="utf-8",
    )
    broken = tmp_path / "broken.mov"
    broken.write_bytes(b"\0" * 1000)
    paths = [str(media["illegal.mov"]), str(broken), str(media["red_flashes.mov"])]
    out = tmp_path / "qc"
    summary = qc_batch_flow(paths, str(profile), str(out))
    verdicts = [r["verdict"] for r in summary["results"]]
    assert verdicts == ["warn", "error", "fail"]
    assert summary["exit_code"] == 2
    saved = json.loads((out / "qc.json").read_text())
    assert [r["file"] for r in saved["results"]] == paths
    assert (out / "index.html").is_file()
    for name in ("illegal.mov", "broken.mov", "red_flashes.mov"):
        assert (out / f"{name}.qc.json").is_file() and (out / f"{name}.qc.html").is_file()
