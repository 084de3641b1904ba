"""Batch QC on a real Dask cluster: a `dask scheduler` and two `dask worker` processes on
127.0.0.1 (random ports), started through `pipeline.tools.spawn` and stopped by process id.

The worker-killing test runs last: it leaves the module's cluster with one worker.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import threading
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from pipeline.cli import app

PROFILE = "ebu-r128"


@pytest.fixture(scope="module")
def clips(samples) -> list[Path]:
    """Small sample files: three camera/sound clips and a truncated file (an error result)."""
    root = Path(samples["root"])
    clip = root / "cards/A_XDCAM/PRIVATE/M4ROOT/CLIP"
    return [
        clip / "C0001.MP4",
        clip / "C0002.MP4",
        root / "cards/C_SOUND/SD01/26Y11M22/12A_T03.WAV",
        root / "misc/truncated.mov",
    ]


def qc(*args: str):
    return CliRunner().invoke(app, ["qc", *args], catch_exceptions=False)


def _essentials(js: dict) -> dict:
    """What must not depend on where a file was checked (not timings, not thumbnail paths)."""
    findings = [{k: v for k, v in f.items() if k != "thumbnail"} for f in js.get("findings", [])]
    return {
        "file": js["file"],
        "verdict": js["verdict"],
        "error": js["error"],
        "findings": findings,
    }


def test_cli_cluster_gives_the_local_verdicts_and_findings(dask_cluster, clips, tmp_path):
    here, there = tmp_path / "here", tmp_path / "there"
    local = qc(*map(str, clips), "-p", PROFILE, "--json", str(here), "--no-cache")
    remote = qc(
        *map(str, clips), "-p", PROFILE, "--json", str(there), "--cluster", dask_cluster.address
    )
    assert remote.exit_code == local.exit_code == 2  # the truncated file cannot be measured
    names = sorted(p.name for p in here.glob("*.qc.json"))
    assert names and names == sorted(p.name for p in there.glob("*.qc.json"))
    for name in names:
        a = json.loads((here / name).read_text())
        b = json.loads((there / name).read_text())
        assert _essentials(a) == _essentials(b), name
    verdicts = {json.loads((there / n).read_text())["verdict"] for n in names}
    assert "error" in verdicts and verdicts - {"error"}  # measured files and the bad one
    assert dask_cluster.address.split(":")[0] in remote.output  # "(on tcp://127.0.0.1:…)"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_unreachable_scheduler_is_one_line_exit_2_and_nothing_written(clips, tmp_path, monkeypatch):
    monkeypatch.setenv("RUSHLINE_CLUSTER_TIMEOUT", "2")
    out = tmp_path / "reports"
    address = f"tcp://127.0.0.1:{_free_port()}"
    res = qc(str(clips[0]), str(clips[1]), "-p", PROFILE, "--json", str(out), "--html", str(out),
             "--cluster", address)  # fmt: skip
    assert res.exit_code == 2
    lines = [line for line in res.output.splitlines() if line.strip()]
    assert len(lines) == 1, res.output
    assert f"cannot reach the Dask scheduler at {address}" in lines[0]
    assert "dask scheduler" in lines[0]
    assert not out.exists()


def test_path_hidden_from_the_workers_is_that_file_s_error(dask_cluster, clips, tmp_path):
    """/proc/self/fd/N names a file in this process only: on every worker that path does not
    exist, exactly what a file outside the shared storage looks like to them."""
    from pipeline.cluster import connect, qc_batch
    from pipeline.profiles import load_profile
    from pipeline.qc.outputs import plan_outputs

    fd = os.open(clips[1], os.O_RDONLY)
    hidden = Path(f"/proc/self/fd/{os.dup2(fd, 901)}")
    os.close(fd)
    try:
        plan = plan_outputs([clips[0], hidden], json_out=tmp_path / "r", html_out=None)
        client = connect(dask_cluster.address)
        try:
            seen: list[tuple[str, str | None]] = []
            results = qc_batch(client, plan, load_profile(PROFILE), overwrite=False,
                               on_result=lambda r, w: seen.append((r.file, w)))  # fmt: skip
        finally:
            client.close()
    finally:
        os.close(901)
    assert results[0].error is None and results[0].verdict.value != "error"
    assert results[1].verdict.value == "error"
    assert f"cannot see {hidden} — mount the shared storage at the same path" in results[1].error
    assert results[1].error.startswith("worker tcp://127.0.0.1:")
    assert len(seen) == 2 and seen[0][1] is not None  # the measured file names its worker
    assert json.loads((tmp_path / "r" / f"{hidden.name}.qc.json").read_text())["error"]


@pytest.mark.flow
def test_flow_with_cluster_runs_its_tasks_on_the_workers(dask_cluster, clips, tmp_path,
                                                         prefect_harness):  # fmt: skip
    from flows.qc import qc_batch_flow
    from pipeline.cluster import connect

    client = connect(dask_cluster.address)
    try:

        def executed() -> int:
            counts = client.run(lambda dask_worker: dask_worker.state.executed_count)
            return sum(counts.values())

        before = executed()
        files = [str(clips[0]), str(clips[3])]
        summary = qc_batch_flow(files, PROFILE, str(tmp_path / "qc"), catalog=False,
                                cluster=dask_cluster.address)  # fmt: skip
        assert executed() - before >= len(files)  # the flow's tasks ran on the workers
    finally:
        client.close()
    verdicts = [r["verdict"] for r in summary["results"]]
    assert verdicts[1] == "error" and verdicts[0] != "error"
    assert (tmp_path / "qc" / "qc.json").is_file() and (tmp_path / "qc" / "index.html").is_file()


@pytest.mark.flow
def test_flow_on_the_cluster_names_the_worker_that_cannot_see_a_file(
    dask_cluster, clips, tmp_path, prefect_harness
):
    """/proc/self/fd/N exists in this process only: the flow (here) plans it, the worker that
    runs its task cannot open it, and the result says which worker and what to do."""
    from flows.qc import qc_batch_flow

    fd = os.open(clips[1], os.O_RDONLY)
    hidden = f"/proc/self/fd/{os.dup2(fd, 903)}"
    os.close(fd)
    try:
        files = [str(clips[0]), hidden]
        summary = qc_batch_flow(
            files, PROFILE, str(tmp_path / "qc"), catalog=False, cluster=dask_cluster.address
        )
    finally:
        os.close(903)
    seen, lost = summary["results"]
    assert seen["verdict"] != "error"
    assert lost["verdict"] == "error"
    assert (
        lost["error"].startswith("worker tcp://127.0.0.1:") and "mount the shared" in lost["error"]
    )


def test_worker_killed_mid_task_is_retried_on_the_other_and_reported_once(
    dask_cluster, samples, tmp_path
):
    """kill -9 the worker process running a QC: the scheduler re-runs the task on the other
    worker; one result, one report, nothing half-written. Runs last (it kills a worker)."""
    from pipeline.cluster import connect, qc_batch
    from pipeline.profiles import load_profile
    from pipeline.qc.outputs import plan_outputs

    master = Path(samples["root"]) / "masters/PROMO_MASTER.mxf"  # a few seconds of decoding
    out = tmp_path / "r"
    plan = plan_outputs([master], json_out=out, html_out=out, folder=True)
    client = connect(dask_cluster.address)
    watcher = connect(dask_cluster.address)
    seen: list[tuple[str, str | None]] = []
    done: dict[str, object] = {}

    def batch() -> None:
        def note(r, w):
            seen.append((r.verdict.value, w))

        done["results"] = qc_batch(client, plan, load_profile(PROFILE), overwrite=False,
                                   on_result=note)  # fmt: skip

    runner = threading.Thread(target=batch)
    try:
        pids = watcher.run(os.getpid)
        runner.start()
        busy = _worker_busy(watcher, deadline=time.monotonic() + 60)
        time.sleep(1.0)  # well inside the decode
        assert watcher.processing()[busy], "the task finished before the kill"
        os.kill(pids[busy], signal.SIGKILL)
        runner.join(timeout=180)
        assert not runner.is_alive()
    finally:
        watcher.close()
        client.close()
    results = done["results"]
    assert len(results) == 1 and len(seen) == 1  # one result, reported once
    verdict, worker = seen[0]
    assert verdict != "error", results[0].error
    assert worker is not None and worker != busy  # it was re-run on the other worker
    files = sorted(p.name for p in out.rglob("*") if p.is_file() and p.parent == out)
    assert files == [f"{master.name}.qc.html", f"{master.name}.qc.json"]  # no temp, no second


def _worker_busy(client, *, deadline: float) -> str:
    """The address of the worker that has a task in progress."""
    while time.monotonic() < deadline:
        for worker, keys in client.processing().items():
            if keys:
                return worker
        time.sleep(0.05)
    raise AssertionError("no worker picked up the task")
