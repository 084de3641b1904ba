"""Flows started from a shell that exports an empty PREFECT_API_URL (as `make` used to)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

FLOW = """
import flows  # normalises the environment before Prefect loads
from prefect import flow, task

@task
def double(x):
    return 2 * x

@flow
def tiny():
    return [double(i) for i in range(3)]

print("result", tiny())
"""


def test_empty_api_url_runs_on_the_ephemeral_api_without_error_lines(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    env.update(PREFECT_API_URL="", PREFECT_HOME=str(tmp_path / "home"), DO_NOT_TRACK="1")
    out = subprocess.run(
        [sys.executable, "-c", FLOW],
        capture_output=True,
        text=True,
        env=env,
        cwd=REPO,
        timeout=300,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    assert "result [0, 2, 4]" in out.stdout
    # Before the fix: ~100 lines of "Service 'EventsWorker' failed" tracebacks.
    assert "EventsWorker" not in out.stderr
    assert "ERROR" not in out.stderr and "Traceback" not in out.stderr
