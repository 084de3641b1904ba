"""Probe stage: what every file on the cards is."""

from __future__ import annotations

from pathlib import Path

from prefect import get_run_logger, task
from prefect.artifacts import create_table_artifact

from pipeline.assets import Asset
from pipeline.catalog.hooks import probe_done
from pipeline.probe import probe_paths


@task(name="probe", retries=1, retry_delay_seconds=2)
def probe_task(paths: list[str], catalog: bool = True) -> list[Asset]:
    """Probe files and folders; unreadable files are per-file errors inside the result."""
    assets = probe_paths([Path(p) for p in paths])
    rows = [
        {
            "file": a.path,
            "kind": a.kind.value,
            "format": " / ".join(
                x for x in (a.container, a.video[0].codec if a.video else None) if x
            ),
            "duration_s": a.duration_s,
            "timecode": a.start_timecode,
            "error": a.error or "",
        }
        for a in assets
        if a.kind.value not in ("sidecar", "other") or a.error
    ]
    create_table_artifact(key="probe", table=rows, description="What each file is")
    if warning := probe_done(assets, on=catalog):
        get_run_logger().warning("%s", warning)
    return assets
