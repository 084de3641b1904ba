"""QC stage: a batch of files against one profile, as mapped Prefect tasks.

Thin over `pipeline.qc.run.qc_file`: a file that cannot be measured is a result with verdict
"error", never an exception, so one bad file never fails the batch. Two files at most are
decoded at once (each ffmpeg decode already uses several threads; more would only thrash).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from prefect import flow, get_run_logger, task, unmapped
from prefect.artifacts import create_markdown_artifact, create_table_artifact
from prefect.task_runners import ThreadPoolTaskRunner

from flows.runners import on_runner
from pipeline.catalog.hooks import qc_done
from pipeline.cluster import named_where
from pipeline.profiles import load_profile
from pipeline.qc.findings import QCResult, Severity
from pipeline.qc.inputs import media_files
from pipeline.qc.outputs import (
    ReportTarget,
    check_outputs,
    html_report,
    plan_outputs,
    qc_to_reports,
    write_batch_reports,
)
from pipeline.qc.run import exit_code_for

MAX_PARALLEL_FILES = 2


@task(name="qc-file", task_run_name="qc {name}")
def qc_task(target: ReportTarget, name: str, profile: str, cache: bool = True) -> QCResult:
    """QC one file; writes its JSON and HTML (with thumbnails) where the plan says. An
    unchanged file is answered from the cache unless `cache` is False (pipeline.cache)."""
    result = qc_to_reports(target, load_profile(profile), overwrite=True, cache=cache)
    return named_where(result)  # on a Dask worker, an error names it


def _publish(results: list[QCResult], profile: str, index: Path) -> None:
    rows = []
    for r in results:
        errors = [f for f in r.findings if f.severity == Severity.ERROR]
        loud = r.measurements.get("loudness") or {}
        rows.append(
            {
                "file": Path(r.file).name,
                "verdict": r.verdict.value,
                "errors": len(errors),
                "warnings": sum(f.severity == Severity.WARNING for f in r.findings),
                "integrated LUFS": loud.get("integrated_lufs"),
                "true peak dBTP": loud.get("true_peak_dbtp"),
                "first problem": r.error or (errors[0].message if errors else ""),
            }
        )
    create_table_artifact(key="qc", table=rows, description=f"QC against {profile}")
    lines = [f"# QC against `{profile}`: exit {exit_code_for(results)}", ""]
    for r in results:
        lines.append(f"## {Path(r.file).name}: {r.verdict.value.upper()}")
        if r.error:
            lines.append(f"- could not measure: {r.error}")
        for f in r.findings:
            if f.severity != Severity.INFO:
                where = f" at {f.start_s:.2f} s" if f.start_s is not None else ""
                lines.append(f"- **{f.severity.value}** `{f.check}`{where}: {f.message}")
        lines.append("")
    lines.append(f"HTML report: `{index}`")
    create_markdown_artifact(key="qc-summary", markdown="\n".join(lines))


@flow(name="rushline-qc", log_prints=True)
def qc_batch_flow(
    paths: list[str],
    profile: str,
    out_dir: str,
    catalog: bool = True,
    cluster: str | None = None,
    cache: bool = True,
) -> dict[str, Any]:
    """QC every file (or folder of media) against `profile` (name or YAML path) into out_dir:
    one JSON and one HTML per file, index.html and qc.json for the batch; returns the
    JSON-ready summary. `cluster` (tcp://host:8786) runs the files on that Dask cluster;
    an unchanged file is answered from the cache unless `cache` is false."""
    batch = on_runner(qc_batch, cluster, MAX_PARALLEL_FILES)
    return batch(paths, profile, out_dir, catalog, cache)


@flow(
    name="rushline-qc-batch",
    log_prints=True,
    task_runner=ThreadPoolTaskRunner(max_workers=MAX_PARALLEL_FILES),
)
def qc_batch(
    paths: list[str], profile: str, out_dir: str, catalog: bool = True, cache: bool = True
) -> dict[str, Any]:
    """The batch itself, on whichever task runner `qc_batch_flow` chose."""
    log = get_run_logger()
    load_profile(profile)  # a bad profile stops here, before any decoding
    out = Path(out_dir).resolve()
    files = media_files(paths)  # folders too, as `rushline qc` takes them
    plan = plan_outputs(files, json_out=out, html_out=out, folder=True, summary_json=True)
    check_outputs(plan, force=True)  # the flow owns its folder: a re-run replaces its reports
    names = [t.name for t in plan.targets]
    futures = qc_task.map(plan.targets, names, unmapped(profile), unmapped(cache))
    results: list[QCResult] = [f.result() for f in futures]
    index = html_report(plan)
    summary = {
        "profile": profile,
        "exit_code": exit_code_for(results),
        "report_html": str(index),
        "report_json": str(plan.summary_json),
        "results": [r.model_dump(mode="json") for r in results],
    }
    write_batch_reports(plan, results, overwrite=True, summary=summary)
    _publish(results, profile, index)
    if warning := qc_done(results, on=catalog):
        log.warning("%s", warning)
    for r in results:
        log.info("%s: %s", Path(r.file).name, r.verdict.value)
    return summary
