"""Split QC flow: one long file cut into time segments measured as tasks, merged exactly.

Thin over `pipeline.qc.splitrun`: the segments are Prefect tasks, so with `cluster` they run
on the Dask cluster's workers (paths on shared storage, never contents) and a task lost with
its worker is retried; planning, merging and the reports happen here. The merged result equals
the one-pass QC (pipeline.qc.split), and shares its cache entry.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from prefect import flow, get_run_logger, task, unmapped
from prefect.task_runners import ThreadPoolTaskRunner

from flows.runners import on_runner
from pipeline.qc.outputs import check_outputs, plan_outputs
from pipeline.qc.run import exit_code_for
from pipeline.qc.split import Span, SpanMeasure, measure_span
from pipeline.qc.splitrun import split_to_reports


@task(name="qc-span", task_run_name="qc {path} span {span.index}", retries=1)
def span_task(path: str, profile: str, span: Span) -> SpanMeasure:
    """Measure one segment (decode with its pre-roll); what the merge needs, no frames."""
    return measure_span(path, profile, span)


def _measure_with_tasks(path: str, profile: str, spans: list[Span]) -> list[SpanMeasure]:
    futures = span_task.map(unmapped(path), unmapped(profile), spans)
    return [f.result() for f in futures]


@flow(name="rushline-qc-split", log_prints=True)
def qc_split_flow(
    path: str,
    profile: str,
    out_dir: str,
    segments: int = 2,
    cluster: str | None = None,
    cache: bool = True,
) -> dict[str, Any]:
    """QC one file against `profile` in `segments` time segments (on `cluster` when given:
    tcp://host:8786) into out_dir: NAME.qc.json and NAME.html; returns the JSON-ready result."""
    inner = on_runner(qc_split, cluster, segments)
    return inner(path, profile, out_dir, segments, cache)


@flow(name="rushline-qc-split-run", task_runner=ThreadPoolTaskRunner(max_workers=2))
def qc_split(path: str, profile: str, out_dir: str, segments: int, cache: bool) -> dict[str, Any]:
    """The split QC itself, on whichever task runner `qc_split_flow` chose."""
    log = get_run_logger()
    out = Path(out_dir).resolve()
    plan = plan_outputs([Path(path)], json_out=out, html_out=out, folder=True)
    check_outputs(plan, force=True)  # the flow owns its folder: a re-run replaces its reports
    result = split_to_reports(
        plan.targets[0],
        profile,
        segments,
        overwrite=True,
        measure_all=_measure_with_tasks,
        cache=cache,
    )
    came = " (from cache)" if result.cached else ""
    log.info("%s: %s%s", Path(path).name, result.verdict.value, came)
    if result.error:
        log.warning("%s", result.error)
    return {"exit_code": exit_code_for([result]), **result.model_dump(mode="json")}
