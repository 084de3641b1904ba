"""Dailies stage: one Prefect task per camera clip, with a table artifact of what was made.

Thin over `pipeline.deliver.dailies`: bad arguments stop the flow before any encode; a clip
that cannot be made is a `failed` Proxy in the table, never an exception. Tasks run one at a
time (each ffmpeg encode already uses every core); `dailies_flow(..., cluster="tcp://host:8786")`
spreads them over a Dask cluster's machines, clips and output folder on shared storage.
"""

from __future__ import annotations

from pathlib import Path

from prefect import flow, get_run_logger, task
from prefect.artifacts import create_table_artifact
from prefect.task_runners import ThreadPoolTaskRunner

from flows.runners import on_runner
from pipeline.deliver.dailies import (
    DailiesOptions,
    Proxy,
    check_options,
    find_clips,
    make_proxy,
    proxy_names,
)


@task(name="proxy-one", task_run_name="proxy of {clip_name}")
def proxy_task(clip: str, clip_name: str, dest: str, opts: DailiesOptions) -> Proxy:
    return make_proxy(Path(clip), Path(dest), opts)


@flow(name="rushline-dailies", log_prints=True)
def dailies_flow(
    paths: list[str],
    out_dir: str,
    *,
    codec: str = "h264",
    height: int = 540,
    lut: str | None = None,
    force: bool = False,
    cluster: str | None = None,
) -> list[Proxy]:
    """Proxies of every clip under `paths` into `out_dir`; `cluster` (tcp://host:8786) makes
    them on that Dask cluster, one task per clip."""
    batch = on_runner(dailies_batch, cluster, 1)
    return batch(paths, out_dir, codec=codec, height=height, lut=lut, force=force)


@flow(
    name="rushline-dailies-batch", log_prints=True, task_runner=ThreadPoolTaskRunner(max_workers=1)
)
def dailies_batch(
    paths: list[str],
    out_dir: str,
    *,
    codec: str = "h264",
    height: int = 540,
    lut: str | None = None,
    force: bool = False,
) -> list[Proxy]:
    """The proxies themselves, on whichever task runner `dailies_flow` chose."""
    log = get_run_logger()
    opts = DailiesOptions(
        out_dir=Path(out_dir),
        codec=codec,  # type: ignore[arg-type]
        height=height,
        lut=Path(lut) if lut else None,
        force=force,
    )
    check_options(paths, opts)
    clips = find_clips(paths)
    names = proxy_names(clips, opts.out_dir, opts.codec)
    futures = [proxy_task.submit(str(c), c.name, str(names[c]), opts) for c in clips]
    proxies = [f.result() for f in futures]
    for p in proxies:
        log.info("%s → %s: %s %s", Path(p.source).name, p.output, p.status, p.error or "")
    rows = [
        {
            "clip": Path(p.source).name,
            "proxy": Path(p.output).name,
            "status": p.status,
            "timecode": p.start_timecode or "",
            "reel": p.reel or "",
            "error": p.error or "",
        }
        for p in proxies
    ]
    create_table_artifact(key="dailies", table=rows, description="Dailies: one proxy per clip")
    return proxies
