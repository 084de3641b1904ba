"""Photo export stage: one preset over a batch of pictures (thin wrapper over the core).

The core already runs a spawn process pool (LibRaw and fork do not mix), so one task runs the
whole batch here; with `cluster` (tcp://host:8786) it is one task per picture on that Dask
cluster. Results become a table artifact and the delivery folder gets its SHA256SUMS.
"""

from __future__ import annotations

from pathlib import Path

from prefect import flow, task
from prefect.artifacts import create_table_artifact

from flows.runners import on_runner
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


@task(name="photo-export-one", task_run_name="export {name}")
def photo_export_one_task(
    src: str, name: str, preset: str, out: str, rights: str | None, force: bool, seq: int
) -> dict:
    """Export one picture (numbered `seq`, as the local batch numbers it)."""
    from pipeline.photo.export import export_one

    tpl = load_template(rights) if rights else None
    res = export_one(Path(src), load_preset(preset), Path(out), template=tpl, force=force, seq=seq)
    return res.model_dump()


@flow(name="photo-export-batch", log_prints=True)
def photo_export_each(
    sources: list[str], preset: str, out: str, rights: str | None = None, force: bool = False
) -> list[dict]:
    """One task per picture (on the cluster `photo_export_flow` chose), then SHA256SUMS."""
    from pipeline.photo.export import ExportResult

    Path(out).mkdir(parents=True, exist_ok=True)
    futures = [
        photo_export_one_task.submit(s, Path(s).name, preset, out, rights, force, i + 1)
        for i, s in enumerate(sources)
    ]
    results = [f.result() for f in futures]
    write_manifest(Path(out), [ExportResult(**r) for r in results])
    return results


@flow(name="photo-export", log_prints=True)
def photo_export_flow(
    sources: list[str],
    preset: str,
    out: str,
    rights: str | None = None,
    force: bool = False,
    cluster: str | None = None,
) -> list[dict]:
    """Export a batch of pictures at a preset's exact specification, rights embedded."""
    if cluster:
        each = on_runner(photo_export_each, cluster, None)
        results = each(sources, preset, out, rights, force)
    else:
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


@task(name="photo-ingest")
def photo_ingest_task(card: str, dests: list[str], rename: str, values: dict[str, str]) -> dict:
    """Offload a photo card (verified, ASC MHL) and build the renamed set beside each copy."""
    from pipeline.photo.ingest import ingest

    res = ingest(card, dests, rename=rename, values=values)
    return {
        "exit_code": res.exit_code,
        "renamed_dirs": [d.renamed_dir for d in res.destinations],
        "errors": [e for d in res.destinations for e in d.errors],
        "files": len(res.map.entries),
    }


@task(name="photo-previews")
def photo_previews_task(sources: list[str], out: str) -> dict:
    """Previews from the embedded JPEGs (no demosaic), on every core."""
    from pipeline.photo.previews import make_previews

    run = make_previews(sources, out, overwrite=True)
    return {
        "made": len(run.previews) - len(run.failed),
        "failed": [f"{p.source}: {p.error}" for p in run.failed],
        "per_second": round(run.per_second, 1),
        "by_source": {p.source: p.preview for p in run.previews if p.preview},
    }


@task(name="photo-sheets")
def photo_sheets_task(
    sources: list[str], picks: list[str], out: str, intro: str, rights: str, previews: dict
) -> dict:
    """The contact sheet of every photo and the portfolio of the picks (PDFs)."""
    from pipeline.photo.portfolio import portfolio
    from pipeline.photo.sheets import contact_sheet

    shown = {Path(k): Path(v) for k, v in previews.items()}
    sheet = contact_sheet(sources, Path(out) / "contact_sheet.pdf", previews=shown, overwrite=True)
    folio = portfolio(picks, Path(out) / "portfolio.pdf", text=intro, rights=rights, overwrite=True)
    return {"sheet": sheet.model_dump(), "portfolio": folio.model_dump()}
