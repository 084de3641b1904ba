"""Where a batch flow's tasks run, chosen at run time: threads here, or a Dask cluster.

A flow's task runner is fixed when the flow is declared, so each batch flow is a thin outer
flow (its public name, the one deployments point at) that takes `cluster` as a parameter and
runs the inner flow with `with_options(task_runner=...)`. Files travel as paths on storage every
worker mounts at the same path.
"""

from __future__ import annotations

from typing import Any, TypeVar

from prefect import Flow
from prefect.task_runners import TaskRunner, ThreadPoolTaskRunner

R = TypeVar("R")


def task_runner(cluster: str | None, local_workers: int | None) -> TaskRunner[Any]:
    """ThreadPoolTaskRunner(local_workers; None: Prefect's default) without a cluster;
    DaskTaskRunner(address=cluster) with one, once the scheduler answers and has a worker
    (else a clear ClusterError)."""
    if not cluster:
        return ThreadPoolTaskRunner(max_workers=local_workers)
    from prefect_dask import DaskTaskRunner

    from pipeline.cluster import connect

    connect(cluster).close()  # fail now, in one line, rather than at the first task
    return DaskTaskRunner(address=cluster)


def on_runner(inner: Flow[..., R], cluster: str | None, local_workers: int | None) -> Flow[..., R]:
    """`inner` with its tasks on the cluster (or on `local_workers` threads)."""
    return inner.with_options(task_runner=task_runner(cluster, local_workers))
