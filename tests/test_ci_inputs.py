"""Under CI=true a missing ../shared input fails the run instead of skipping it."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path


def _run(tmp_path, ci: str) -> subprocess.CompletedProcess[str]:
    test = tmp_path / "test_probe_shared.py"
    test.write_text(
        textwrap.dedent(
            """
            from pathlib import Path
            from conftest import need_shared

            def test_needs_it():
                need_shared(Path("/nonexistent/shared/media"), "real RAW samples")
            """
        )
    )
    env = {"PATH": "/usr/bin:/bin", "CI": ci, "PYTHONPATH": str(Path(__file__).parent)}
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(test)],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
    )


def test_missing_shared_input_skips_outside_ci(tmp_path):
    out = _run(tmp_path, "")
    assert out.returncode == 0, out.stdout
    assert "1 skipped" in out.stdout


def test_missing_shared_input_fails_under_ci(tmp_path):
    out = _run(tmp_path, "true")
    assert out.returncode == 1, out.stdout
    assert "1 failed" in out.stdout and "CI must have ../shared" in out.stdout
