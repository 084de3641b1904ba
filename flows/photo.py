"""Photo export stage: one preset over a batch of pictures (thin wrapper over the core).

The core already runs a spawn process pool (LibRaw and fork do not mix), so one task runs the
whole batch; results become a table artifact and the delivery folder gets its SHA256SUMS.
"""

from __future__ import annotations

from pathlib import Path

from prefect import flow, task
from prefect.artifacts import create_table_artifact

from pipeline.photo.batch import export_batch, write_manifest
from pipeline.photo.presets import load_preset
from pipeline.rights.template import load_template


@task(name="photo-export", task_run_name="photo-export-{preset}")
def photo_export_task(
    sources: list[str], preset: str, out: str, rights: str | None = None, force: bool = False
) -> list[dict]:
    """Export `sources` with `preset` into `out`; returns ExportResult dicts (JSON-safe)."""
    tpl = load_template(rights) if rights else None
    results = export_batch([Path(s) for s in sources], load_preset(preset), Path(out),
                           template=tpl, force=force)  # fmt: skip
    write_manifest(Path(out), results)
    return [r.model_dump() for r in results]


@flow(name="photo-export", log_prints=True)
def photo_export_flow(
    sources: list[str], preset: str, out: str, rights: str | None = None, force: bool = False
) -> list[dict]:
    """Export a batch of pictures at a preset's exact specification, rights embedded."""
    results = photo_export_task(sources, preset, out, rights, force)
    create_table_artifact(
        key="photo-export",
        table=[
            {
                "source": r["source"],
                "result": r["status"],
                "output": r["output"] or "",
                "size": f"{r['width']}x{r['height']}" if r["width"] else "",
                "notes": r["error"] or "; ".join(r["notes"] + r["not_applied"]),
            }
            for r in results
        ],
        description=f"Photo export (preset: {preset})",
    )
    ok = sum(r["status"] == "exported" for r in results)
    print(f"{ok} exported, {len(results) - ok} failed")
    return results
