"""Prefect flows: thin wrappers over `pipeline` that add retries, concurrency and artifacts.

Importing this package first makes Prefect offline and project-local, whoever starts it.
"""

from __future__ import annotations

import os
from pathlib import Path

_REPO = Path(__file__).resolve().parents[1]

# An empty PREFECT_API_URL is not "no server": Prefect then starts its events worker against
# an empty address and prints ~100 'EventsWorker failed' tracebacks on a run that succeeded.
# Unset means the embedded ephemeral API, which is what an empty value is meant to say.
if not os.environ.get("PREFECT_API_URL", "unset").strip():
    del os.environ["PREFECT_API_URL"]
os.environ.setdefault("DO_NOT_TRACK", "1")
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("PREFECT_HOME", str(_REPO / ".prefect"))
# The embedded ephemeral API needs 10-30 s for its first start on 2 cores.
os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "120")
