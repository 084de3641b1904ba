"""Split QC of one file with its reports: the spans measured by whatever runs them.

`pipeline.qc.split` measures and merges; this module decides nothing about where the segments
run. The caller hands in `measure_all(path, profile, spans) -> parts`: a plain loop here, a
Dask client (`pipeline.cluster`) for the CLI, Prefect tasks on a DaskTaskRunner for the flow.
The result equals the one-pass QC, so it shares the one-pass cache entry: a file measured
either way is answered from the cache the next time, either way.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from pipeline.qc.findings import QCResult
from pipeline.qc.outputs import ReportTarget, write_file_reports
from pipeline.qc.split import Span, SpanMeasure, measure_span, merge_spans, plan_spans

MeasureAll = Callable[[str, str, list[Span]], list[SpanMeasure]]


def measure_here(path: str, profile: str, spans: list[Span]) -> list[SpanMeasure]:
    """Every span in this process, one after the other."""
    return [measure_span(path, profile, s) for s in spans]


def split_measure(
    profile_ref: str, segments: int, measure_all: MeasureAll
) -> Callable[..., QCResult]:
    """A `measure` for `pipeline.cache.qc_file_cached`: plan, measure the spans, merge."""

    def measure(
        path: str | os.PathLike[str],
        profile: object,
        *,
        thumbnails_dir: str | os.PathLike[str] | None = None,
        tools: dict[str, str | None] | None = None,
    ) -> QCResult:
        from pipeline.qc.run import guarded
        from pipeline.tools import tool_versions

        p = Path(path)
        versions = tools if tools is not None else tool_versions()
        name = getattr(profile, "name", profile_ref)

        def work() -> QCResult:
            spans = plan_spans(p, segments)
            parts = measure_all(str(p), profile_ref, spans)
            return merge_spans(
                p, profile_ref, spans, parts, thumbnails_dir=thumbnails_dir, tools=versions
            )

        return guarded(p, str(name), versions, work)

    return measure


def split_to_reports(
    target: ReportTarget,
    profile_ref: str,
    segments: int,
    *,
    overwrite: bool,
    measure_all: MeasureAll = measure_here,
    cache: bool = True,
    tools: dict[str, str | None] | None = None,
) -> QCResult:
    """Split QC of `target.source` in `segments` spans, its reports written where the plan
    says; an unchanged file is answered from the cache unless `cache` is False."""
    from pipeline.cache import qc_file_cached
    from pipeline.profiles import load_profile

    result = qc_file_cached(
        target.source,
        load_profile(profile_ref),
        thumbnails_dir=target.thumbnails,
        tools=tools,
        cache=cache,
        measure=split_measure(profile_ref, segments, measure_all),
    )
    write_file_reports(target, result, overwrite=overwrite)
    return result
