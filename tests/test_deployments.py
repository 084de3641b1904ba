"""QC as a Prefect deployment: a real server, a real process worker, runs submitted by name.

Not the in-process `prefect_harness`: this module starts `prefect server start` and
`prefect worker start` as separate programs (PREFECT_HOME and the SQLite database in tmp),
registers the deployments with `python -m flows.deployments`, submits runs with the
`prefect deployment run` line the README gives, and reads states over the REST API. The
PREFECT_* variables are given to those programs on their command line (`env NAME=value ...`),
never set in the pytest process.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import socket
import sys
import threading
import time
from collections import deque
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from pipeline import exitcodes, tools

REPO = Path(__file__).resolve().parents[1]
POOL = "rushline-test"
CLIP_DIR = "cards/A_XDCAM/PRIVATE/M4ROOT/CLIP"
PROFILE = "web-h264"
START_TIMEOUT_S = 180.0  # first start of a server (SQLite migrations) on 2 busy cores
RUN_TIMEOUT_S = 240.0
FINAL = {"COMPLETED", "FAILED", "CRASHED", "CANCELLED"}


def _env(cmd: list[str], **values: str) -> list[str]:
    """`cmd` run under `env`: this process's PREFECT_* settings removed, `values` set."""
    unset = [a for k in os.environ if k.startswith("PREFECT_") for a in ("-u", k)]
    return ["env", *unset, *(f"{k}={v}" for k, v in values.items()), *cmd]


def _prefect(*args: str) -> list[str]:
    return [sys.executable, "-m", "prefect", *args]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class _Logged:
    """A started program whose stdout and stderr are drained (a full pipe would block it)."""

    def __init__(self, cmd: list[str], what: str) -> None:
        self.proc = tools.spawn(cmd, what=what)
        self.lines: deque[str] = deque(maxlen=200)
        for pipe in (self.proc.stdout, self.proc.stderr):
            threading.Thread(target=self._drain, args=(pipe,), daemon=True).start()

    def _drain(self, pipe: Any) -> None:
        for raw in iter(pipe.readline, b""):
            self.lines.append(raw.decode("utf-8", "replace").rstrip())

    def tail(self) -> str:
        return "\n".join(list(self.lines)[-60:])

    def alive(self) -> bool:
        return self.proc.poll() is None

    def stop(self, timeout: float = 30.0) -> None:
        if self.alive():
            self.proc.terminate()
        tools.end(self.proc, timeout=timeout)


class Setup:
    """One Prefect server (restartable on the same port and database) and its settings."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.home = root / "prefect-home"
        self.port = _free_port()
        self.api = f"http://127.0.0.1:{self.port}/api"
        self.server: _Logged | None = None
        self.worker: _Logged | None = None

    def env(self, cmd: list[str]) -> list[str]:
        return _env(
            cmd,
            PREFECT_HOME=str(self.home),
            PREFECT_API_URL=self.api,
            PREFECT_SERVER_DATABASE_CONNECTION_URL=f"sqlite+aiosqlite:///{self.home}/prefect.db",
            PREFECT_SERVER_ANALYTICS_ENABLED="false",
            PREFECT_SERVER_UI_SHOW_PROMOTIONAL_CONTENT="false",
            PREFECT_WORKER_QUERY_SECONDS="2",
            # As `make worker` sets it: a worker and its runs ride out a server restart of up
            # to ~4 min (2+4+...+128 s); the default 5 retries give up after ~1 min, which a
            # server restarting on a loaded machine can exceed.
            PREFECT_CLIENT_MAX_RETRIES="7",
            DO_NOT_TRACK="1",
            RUSHLINE_CATALOG="off",
            RUSHLINE_CACHE="off",  # the worker's run decodes the file, not a cached answer
        )

    def start_server(self) -> None:
        cmd = _prefect("server", "start", "--host", "127.0.0.1", "--port", str(self.port))
        self.server = _Logged(self.env([*cmd, "--no-ui", "--analytics-off"]), "prefect server")
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            assert self.server.alive(), f"prefect server exited:\n{self.server.tail()}"
            try:
                if httpx.get(f"{self.api}/health", timeout=5).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(1)
        pytest.fail(f"no healthy server after {START_TIMEOUT_S:.0f} s\n{self.server.tail()}")

    def start_worker(self) -> None:
        # As `make worker` starts it: never pip-installs anything, two runs at a time at most.
        cmd = _prefect("worker", "start", "--pool", POOL, "--type", "process", "--name", "test")
        cmd += ["--install-policy", "never", "--limit", "2"]
        self.worker = _Logged(self.env(cmd), "prefect worker")

    def submit(self, params: dict[str, Any]) -> str:
        """`prefect deployment run rushline-qc/qc -p ...`; returns the flow run's id."""
        args = ["deployment", "run", "rushline-qc/qc"]
        for key, value in params.items():
            args += ["-p", f"{key}={value if isinstance(value, str) else json.dumps(value)}"]
        out = tools.run(self.env(_prefect(*args)), what="submitting a run", cwd=self.root)
        found = re.search(r"UUID: ([0-9a-f-]{36})", out.stdout.decode() + out.stderr)
        assert found, out.stdout.decode() + out.stderr
        return found.group(1)

    def flow_run(self, run_id: str) -> dict[str, Any] | None:
        """The flow run as the API has it, or None while the server cannot answer."""
        try:
            resp = httpx.get(f"{self.api}/flow_runs/{run_id}", timeout=10)
        except httpx.HTTPError:
            return None
        return resp.json() if resp.status_code == 200 else None

    def wait(self, run_id: str, states: set[str], timeout: float = RUN_TIMEOUT_S) -> dict:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            run = self.flow_run(run_id)
            if run and run["state"] and run["state"]["type"] in states:
                return run
            time.sleep(1)
        pytest.fail(f"flow run {run_id} never reached {states}\n{self.logs()}")

    def logs(self) -> str:
        parts = [("worker", self.worker), ("server", self.server)]
        return "\n".join(f"--- {name}:\n{p.tail()}" for name, p in parts if p)

    def stop(self) -> None:
        # The worker first: with its server gone it retries for a minute before it exits.
        for proc in (self.worker, self.server):
            if proc is not None:
                proc.stop()


@pytest.fixture(scope="module")
def prefect_setup(tmp_path_factory) -> Iterator[Setup]:
    """A server with the deployments registered on POOL and one worker polling it."""
    setup = Setup(tmp_path_factory.mktemp("deployments"))
    try:
        setup.start_server()
        out = tools.run(
            setup.env([sys.executable, "-m", "flows.deployments", "--pool", POOL]),
            what="registering the deployments",
            cwd=REPO,
        )
        assert "rushline-qc/qc" in out.stdout.decode()
        setup.start_worker()
        yield setup
    finally:
        setup.stop()


def _clips(samples: dict, *names: str) -> list[str]:
    return [str(Path(samples["root"]) / CLIP_DIR / n) for n in names]


def _findings(result: dict) -> set[tuple[str, str]]:
    return {(f["check"], f["severity"]) for f in result["findings"] if f["severity"] != "info"}


def test_each_printed_run_command_gives_its_flow_valid_parameters() -> None:
    """The worker imports each module path; each printed `-p` value parses (as Prefect's CLI
    parses it) into the example, which names only the flow's parameters and all the
    required ones."""
    from prefect.cli._utilities import load_json_key_values

    from flows.deployments import STAGES, Registered, load_flow

    for stage in STAGES:
        schema = load_flow(stage.entrypoint).parameters
        command = Registered(f"x/{stage.name}", "id", stage.example).run_command()
        args = shlex.split(command)
        values = [args[i + 1] for i, a in enumerate(args) if a == "-p"]
        assert load_json_key_values(values, "parameter") == stage.example, command
        assert set(stage.example) <= set(schema.properties), stage.name
        assert set(schema.required or []) <= set(stage.example), stage.name


def test_registering_without_a_server_is_refused(monkeypatch, capsys) -> None:
    from flows.deployments import main

    monkeypatch.delenv("PREFECT_API_URL", raising=False)
    assert main([]) == exitcodes.ERROR
    assert "no Prefect server given" in capsys.readouterr().err


@pytest.mark.flow
def test_qc_deployment_runs_on_a_worker_and_writes_the_reports(prefect_setup, samples, tmp_path):
    from pipeline.profiles import load_profile
    from pipeline.qc.run import qc_file

    (clip,) = _clips(samples, "C0002.MP4")
    out = tmp_path / "reports"
    run_id = prefect_setup.submit({"paths": [clip], "profile": PROFILE, "out_dir": str(out)})
    run = prefect_setup.wait(run_id, FINAL)
    state = run["state"]
    assert state["type"] == "COMPLETED", f"{state.get('message')}\n{prefect_setup.logs()}"
    assert run["work_pool_name"] == POOL  # picked up by the pool's worker, not run in-process
    saved = json.loads((out / "qc.json").read_text())
    assert [r["file"] for r in saved["results"]] == [clip]
    assert (out / "index.html").is_file() and (out / "C0002.MP4.qc.html").is_file()
    # The worker's verdict is the core's verdict on the same file: this quiet card clip
    # fails the web profile's loudness target.
    direct = qc_file(clip, load_profile(PROFILE)).model_dump(mode="json")
    remote = saved["results"][0]
    assert remote["verdict"] == direct["verdict"] == "fail"
    assert _findings(remote) == _findings(direct)
    assert ("loudness.integrated", "error") in _findings(remote)
    assert saved["exit_code"] == 1
    # The server's settings reached only its programs, never this process.
    assert prefect_setup.api not in os.environ.get("PREFECT_API_URL", "")
    assert str(prefect_setup.home) != os.environ.get("PREFECT_HOME")


@pytest.mark.flow
def test_a_server_restart_during_a_run_loses_nothing(prefect_setup, samples, tmp_path):
    """The server stops while a run is in progress and comes back on the same port and
    database. The run ends COMPLETED when its clients only had to retry (they retry a refused
    connection for minutes); Prefect does not retry a refused connection on a client that never
    connected, so a run that opened one during the outage ends FAILED with a connection error.
    Either way the state is clear, the worker keeps serving the pool, and submitting the run
    again finishes the job (the QC flow replaces its own reports)."""
    clips = _clips(samples, "C0001.MP4", "C0003.MP4")
    out = tmp_path / "reports"
    params = {"paths": clips, "profile": PROFILE, "out_dir": str(out)}
    run_id = prefect_setup.submit(params)
    prefect_setup.wait(run_id, {"RUNNING"} | FINAL)
    assert prefect_setup.server is not None
    prefect_setup.server.stop()
    stopped_at = datetime.now(UTC)
    prefect_setup.start_server()
    run = prefect_setup.wait(run_id, FINAL)
    state = run["state"]
    if state["type"] == "COMPLETED":
        # It finished after the server went away: it was in progress during the outage.
        assert datetime.fromisoformat(run["end_time"]) > stopped_at
    else:
        why = state.get("message") or ""
        lost = state["type"] == "CRASHED" or "connect" in why.lower()
        assert state["type"] in {"FAILED", "CRASHED"} and lost, (
            f"{state['type']}: {why}\n{prefect_setup.logs()}"
        )
        again = prefect_setup.wait(prefect_setup.submit(params), FINAL)
        assert again["state"]["type"] == "COMPLETED", prefect_setup.logs()
    saved = json.loads((out / "qc.json").read_text())
    assert [r["file"] for r in saved["results"]] == clips
    assert all(r["verdict"] != "error" for r in saved["results"])
    assert prefect_setup.worker is not None and prefect_setup.worker.alive()
