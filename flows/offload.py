"""Offload stage: a roll to N destinations, verified, ASC MHL on each, then the report.

Thin over `pipeline.offload.offload`: failures of files or destinations are results (with
failure classes), not exceptions, so the flow publishes them as artifacts and returns them.
The copy task is not retried automatically (a retry would hide a flaky card from the DIT);
running the flow again is always safe and finishes the job. Report writing is retried.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from prefect import flow, get_run_logger, task
from prefect.artifacts import create_markdown_artifact, create_table_artifact

from pipeline.catalog.hooks import offload_done
from pipeline.offload import NoVerifiedCopyError, OffloadResult, offload
from pipeline.offload import cascade as cascade_offload
from pipeline.report.offload import publish


@task(name="offload-roll")
def offload_task(
    source: str,
    destinations: list[str],
    template: str,
    values: dict[str, str],
    hashes: list[str],
    verify: str,
) -> OffloadResult:
    """Copy, hash once, verify and write the ASC MHL generation on every destination."""
    return offload(
        source, destinations, template=template, values=values, hashes=hashes, verify=verify
    )


@task(name="offload-cascade")
def cascade_task(
    result: OffloadResult, destinations: list[str], hashes: list[str], verify: str
) -> OffloadResult | None:
    """Copy on from the first verified copy (the core picks it); None when there is none."""
    try:
        return cascade_offload(result, destinations, hashes=hashes, verify=verify)
    except NoVerifiedCopyError as exc:
        get_run_logger().error("%s", exc)
        return None


@task(name="offload-report", retries=2, retry_delay_seconds=2)
def report_task(result: OffloadResult, report_dir: str | None, thumbnails: bool) -> OffloadResult:
    """Probe clips, make thumbnails, write JSON + HTML (atomic writes: safe to retry)."""
    publish(result, report_dir=Path(report_dir) if report_dir else None, thumbnails=thumbnails)
    return result


def _publish_artifacts(res: OffloadResult, key: str) -> None:
    rows = [
        {
            "destination": d.roll_dir,
            "result": "OK"
            if d.ok and not d.files_failed
            else (d.failure.name if d.failure else "FAILED"),
            "copied": d.files_copied,
            "already there": d.files_identical,
            "failed": d.files_failed,
            "GB written": round(d.bytes_written / 1e9, 3),
            "ASC MHL": Path(d.manifest).name if d.manifest else "",
            "report": d.reports[0] if d.reports else "",
        }
        for d in res.destinations
    ]
    create_table_artifact(key=key, table=rows, description=f"Offload of {res.source}")
    failed = [f for f in res.files if not f.ok]
    lines = [
        f"# Offload {res.roll}: {'VERIFIED' if res.ok else f'FAILED (exit {res.exit_code})'}",
        "",
        f"{len(res.files)} files, {res.bytes_total / 1e9:.2f} GB in {res.duration_s:.1f} s "
        f"({res.throughput_mb_s} MB/s), hashes {', '.join(res.hash_formats)}, "
        f"verification {res.verify.value}.",
    ]
    if failed:
        lines += ["", "## Failed files", ""]
        lines += [
            f"- `{f.path}`: {f.error or next((o.error for o in f.outcomes if o.error), '')}"
            for f in failed[:50]
        ]
    if res.notices:
        lines += ["", "## Notices", ""] + [f"- `{n.path}`: {n.message}" for n in res.notices[:50]]
    create_markdown_artifact(key=f"{key}-summary", markdown="\n".join(lines))


@flow(name="rushline-offload", log_prints=True)
def offload_flow(
    source: str,
    destinations: list[str],
    template: str = "{roll}",
    values: dict[str, str] | None = None,
    hashes: list[str] | None = None,
    verify: str = "full",
    cascade: list[str] | None = None,
    report_dir: str | None = None,
    thumbnails: bool = True,
    catalog: bool = True,
) -> dict[str, Any]:
    """Offload one roll (then optionally cascade from the first verified copy); returns the
    JSON-ready results (a list: the offload, then the cascade) and the worst exit code."""
    log = get_run_logger()
    hashes = hashes or ["xxh128"]
    res = offload_task(source, destinations, template, values or {}, hashes, verify)
    res = report_task(res, report_dir, thumbnails)
    _publish_artifacts(res, "offload")
    if warning := offload_done([res], on=catalog):
        log.warning("%s", warning)
    log.info("offload of %s: exit %s, %s MB/s", res.source, res.exit_code, res.throughput_mb_s)
    results = [res]
    if cascade:
        res2 = cascade_task(res, cascade, hashes, verify)
        if res2 is not None:
            res2 = report_task(res2, report_dir, thumbnails)
            _publish_artifacts(res2, "offload-cascade")
            if warning := offload_done([res2], on=catalog):
                log.warning("%s", warning)
            results.append(res2)
    return {
        "exit_code": max(r.exit_code for r in results),
        "results": [r.model_dump(mode="json") for r in results],
    }
