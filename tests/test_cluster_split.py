"""Split QC on a real Dask cluster: a `dask scheduler` and two `dask worker` processes on
127.0.0.1, the segments of one file measured on the workers and merged in the client.

The merge itself is proved exact in tests/test_qc_split.py; here: the same result arrives through
the CLI (`rushline qc --cluster ADDR --split N`) and the flow (`qc_split_flow(cluster=...)`),
the segments really run on the workers, a re-run is answered from the cache, and a file the
workers cannot see is that file's clear error.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from pipeline.cli import app

PROFILE = "web-h264"


@pytest.fixture(scope="module")
def cluster(dask_cluster):
    return dask_cluster  # tests/conftest.py: a scheduler and two worker processes


@pytest.fixture(scope="module")
def master(samples) -> Path:
    return Path(samples["root"]) / "masters/WEB_MASTER.mp4"  # long-GOP H.264 with AAC


@pytest.fixture(scope="module")
def one_pass(master) -> dict:
    from pipeline.profiles import load_profile
    from pipeline.qc.run import qc_file

    return qc_file(master, load_profile(PROFILE)).model_dump(mode="json")


def qc(*args: str):
    return CliRunner().invoke(app, ["qc", *args], catch_exceptions=False)


def _same_as_one_pass(got: dict, ref: dict) -> None:
    assert got["verdict"] == ref["verdict"]
    strip = [{k: v for k, v in f.items() if k != "thumbnail"} for f in ref["findings"]]
    assert [{k: v for k, v in f.items() if k != "thumbnail"} for f in got["findings"]] == strip
    assert got["measurements"]["loudness"] == ref["measurements"]["loudness"]


def _executed(address: str) -> int:
    from pipeline.cluster import connect

    client = connect(address)
    try:
        counts = client.run(lambda dask_worker: dask_worker.state.executed_count)
        return sum(counts.values())
    finally:
        client.close()


def test_cli_split_on_the_cluster_equals_one_pass_and_runs_on_the_workers(
    cluster, master, one_pass, tmp_path, monkeypatch
):
    monkeypatch.setenv("RUSHLINE_CACHE", "off")
    before = _executed(cluster.address)
    out = tmp_path / "r.json"
    res = qc(str(master), "-p", PROFILE, "--split", "3", "--cluster", cluster.address,
             "--json", str(out))  # fmt: skip
    assert res.exit_code == 1, res.output  # the web master's true peak fails web-h264
    got = json.loads(out.read_text())
    _same_as_one_pass(got, one_pass)
    assert got["measurements"]["split"]["segments"] == 3
    assert len(got["measurements"]["split"]["boundaries_s"]) == 2
    assert _executed(cluster.address) - before == 3  # one task per span, on the workers


def test_split_rerun_is_answered_from_the_cache_and_no_cache_measures_again(
    cluster, master, tmp_path, monkeypatch
):
    monkeypatch.setenv("RUSHLINE_CACHE", str(tmp_path / "cache"))
    args = [str(master), "-p", PROFILE, "--split", "2", "--cluster", cluster.address]
    first = qc(*args, "--json", str(tmp_path / "a.json"))
    before = _executed(cluster.address)
    again = qc(*args, "--json", str(tmp_path / "b.json"))
    assert "(cached)" in again.output
    assert json.loads((tmp_path / "b.json").read_text())["cached"] is True
    assert _executed(cluster.address) == before  # the cache answered: no task ran
    fresh = qc(*args, "--json", str(tmp_path / "c.json"), "--no-cache")
    c = json.loads((tmp_path / "c.json").read_text())
    assert c["cached"] is False and c["measurements"]["split"]["segments"] == 2
    assert first.exit_code == again.exit_code == fresh.exit_code == 1


def test_segments_of_a_file_the_workers_cannot_see_stop_with_a_clear_error(cluster, master):
    """/proc/self/fd/N exists only in this process: to the workers it is a file outside the
    shared storage. The check comes before any segment is submitted."""
    from pipeline.cluster import ClusterError, connect, span_measurer
    from pipeline.qc.split import plan_spans

    spans = plan_spans(master, 2)
    before = _executed(cluster.address)
    fd = os.open(master, os.O_RDONLY)
    hidden = f"/proc/self/fd/{os.dup2(fd, 902)}"
    os.close(fd)
    client = connect(cluster.address)
    try:
        with pytest.raises(ClusterError) as err:
            span_measurer(client)(hidden, PROFILE, spans)
    finally:
        client.close()
        os.close(902)
    assert "cannot see" in str(err.value) and "tcp://127.0.0.1" in str(err.value)
    assert hidden in str(err.value)
    assert _executed(cluster.address) == before


@pytest.mark.flow
def test_split_flow_on_the_cluster_writes_the_one_pass_result(
    cluster, master, one_pass, tmp_path, monkeypatch, prefect_harness
):
    from flows.qc_split import qc_split_flow

    monkeypatch.setenv("RUSHLINE_CACHE", "off")
    out = tmp_path / "split"
    summary = qc_split_flow(str(master), PROFILE, str(out), segments=2, cluster=cluster.address)
    assert summary["exit_code"] == 1
    _same_as_one_pass(summary, one_pass)
    (report,) = out.glob("WEB_MASTER*.qc.json")
    written = json.loads(report.read_text())
    assert written["measurements"]["split"]["segments"] == 2
    assert len(list(out.glob("WEB_MASTER*.qc.html"))) == 1
