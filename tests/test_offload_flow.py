"""The offload flow on the embedded Prefect API: copies, cascades, reports (artifacts are
published by the flow; reading them back is blocked by the pinned server rejecting the
client's filter body, so this test checks the copies and the returned results)."""

from __future__ import annotations

import os

import pytest

from pipeline.verify import verify_path


@pytest.mark.flow
def test_offload_flow_with_cascade(tmp_path, prefect_harness):
    from flows.offload import offload_flow

    src = tmp_path / "C001"
    (src / "CLIPS").mkdir(parents=True)
    (src / "CLIPS" / "C001C001.MXF").write_bytes(os.urandom(300_000))
    d1, d2, slow = (tmp_path / n for n in ("ssd1", "ssd2", "nas"))
    for d in (d1, d2, slow):
        d.mkdir()
    out = offload_flow(
        str(src),
        [str(d1), str(d2)],
        template="{project}/{roll}",
        values={"project": "Doc"},
        cascade=[str(slow)],
        thumbnails=False,
    )
    assert out["exit_code"] == 0 and len(out["results"]) == 2
    for d in (d1, d2, slow):
        assert verify_path(d / "Doc" / "C001").exit_code == 0
    assert out["results"][1]["cascade_from"] == str(d1 / "Doc" / "C001")
