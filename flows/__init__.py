"""Prefect flows: thin wrappers over `pipeline` that add retries, concurrency and artifacts.

Importing this package first makes Prefect offline and project-local, whoever starts it.
"""

from __future__ import annotations

import os
from pathlib import Path

_REPO = Path(__file__).resolve().parents[1]

os.environ.setdefault("DO_NOT_TRACK", "1")
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("PREFECT_HOME", str(_REPO / ".prefect"))
# The embedded ephemeral API needs 10-30 s for its first start on 2 cores.
os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "120")
