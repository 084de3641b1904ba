"""Batch jobs on a Dask cluster (dask.distributed): one task per file, files by path.

Every machine of the cluster mounts the shared storage at the same path; a file travels as its
path, never as its content. The client (the `rushline` command) connects with a timeout, checks
that every worker can see every input and the output folder before any work starts, submits one
task per file (`pure=False`, `retries=1`) and gathers results as they complete. A worker that
dies mid-task has its task re-run on another worker by the scheduler.

Who writes what: a worker makes what only it can make (the deliverable, the exported picture,
QC thumbnails), each with the existing temp + rename writes, so a task re-run after a worker
died replaces an unfinished file and never leaves two. The per-file reports (QC JSON and HTML)
are written by the client from the returned result, once per file, after the overwrite checks
it made before the run: a re-run task cannot write a report twice.
"""

from __future__ import annotations

import json
import os
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pipeline import tools
from pipeline.errors import RushlineError

if TYPE_CHECKING:
    from distributed import Client

    from pipeline.deliver.run import Deliverable, Options
    from pipeline.photo.export import ExportResult
    from pipeline.photo.presets import ExportPreset
    from pipeline.profiles import Profile
    from pipeline.qc.findings import QCResult
    from pipeline.qc.outputs import QCOutputs
    from pipeline.rights.template import RightsTemplate

CONNECT_TIMEOUT_S = 10.0  # RUSHLINE_CLUSTER_TIMEOUT overrides it
MOUNT_HINT = "mount the shared storage at the same path"


class ClusterError(RushlineError):
    """The cluster cannot be used: scheduler unreachable, no worker, storage not shared."""


@dataclass(frozen=True)
class Outcome:
    """One task's end: its value, or why it has none, and the worker that ran it."""

    index: int
    worker: str | None
    value: Any = None
    error: str | None = None


# ---------------------------------------------------------------------------- connecting


def connect(address: str, *, timeout: float | None = None) -> Client:
    """A client of the scheduler at `address` with at least one worker, or a ClusterError."""
    from distributed import Client

    if timeout is None:
        timeout = float(os.environ.get("RUSHLINE_CLUSTER_TIMEOUT") or CONNECT_TIMEOUT_S)

    hint = "start it with `dask scheduler` or check the address"
    try:
        client = Client(address, timeout=timeout, set_as_default=False)
    except (OSError, TimeoutError, ValueError, TypeError) as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        msg = f"cannot reach the Dask scheduler at {address}: {reason}; {hint}"
        raise ClusterError(msg) from None
    try:
        client.wait_for_workers(1, timeout=timeout)
    except (OSError, TimeoutError) as exc:
        client.close()
        raise ClusterError(
            f"the Dask scheduler at {address} has no worker ({type(exc).__name__}); "
            f"start one with `dask worker {address}`"
        ) from None
    return client


def _missing(paths: list[str]) -> list[str]:
    """Runs on every worker: the paths this worker cannot see."""
    return [p for p in paths if not os.path.exists(p)]


def invisible(client: Client, paths: Sequence[str | os.PathLike[str]]) -> dict[str, str]:
    """{path: first worker that cannot see it} over every worker of the cluster."""
    wanted = [os.path.abspath(p) for p in paths]
    by_worker: dict[str, Any] = client.run(_missing, wanted, on_error="return")
    out: dict[str, str] = {}
    for worker, missing in sorted(by_worker.items()):
        if isinstance(missing, BaseException):  # that worker could not even run the check
            raise ClusterError(f"worker {worker} did not answer the storage check: {missing}")
        for p in missing:
            out.setdefault(p, worker)
    return out


def cannot_see(worker: str, path: str | os.PathLike[str]) -> str:
    return f"worker {worker}: cannot see {os.fspath(path)} — {MOUNT_HINT}"


def this_worker() -> str | None:
    """The Dask worker this code runs on (its address), or None outside a worker."""
    if "distributed" not in sys.modules:
        return None  # nothing imported distributed: surely not on a worker
    from distributed import get_worker

    try:
        return get_worker().address
    except ValueError:
        return None


def named_where(result: QCResult) -> QCResult:
    """A result that could not be measured on a Dask worker names that worker, so a batch run
    through a flow on a cluster says where each file failed (a worker without the mount)."""
    where = this_worker()
    if result.error and where and where not in result.error:
        hint = f" ({MOUNT_HINT})" if not os.path.exists(result.file) else ""
        result.error = f"worker {where}: {result.error}{hint}"
    return result


def require_visible(client: Client, folders: Sequence[Path]) -> None:
    """Output folders (created by the caller) every worker must see, or a ClusterError."""
    for path, worker in invisible(client, folders).items():
        raise ClusterError(cannot_see(worker, path) + " (the output folder)")


def hidden_inputs(client: Client, inputs: Sequence[Path]) -> dict[int, str]:
    """{input index: error} for inputs this machine sees and some worker does not.

    An input missing here too is left to the job, which reports it as the local run does.
    """
    here = [p for p in inputs if os.path.exists(p)]
    missing = invisible(client, here)
    return {
        i: cannot_see(missing[key], p)
        for i, p in enumerate(inputs)
        if (key := os.path.abspath(p)) in missing
    }


# ---------------------------------------------------------------------------- running


class TaskFailed(RuntimeError):
    """A job raised on a worker; the message names the worker (it crosses to the client)."""


def _located(fn: Callable[..., Any], *args: Any) -> tuple[str, Any]:
    """Runs on a worker: `fn(*args)` and the address of the worker that ran it."""
    from distributed import get_worker

    where = get_worker().address
    try:
        return where, fn(*args)
    except Exception as exc:  # re-raised so `retries` applies, named so the user knows where
        raise TaskFailed(f"worker {where}: {type(exc).__name__}: {exc}") from None


def run_each(
    client: Client, fn: Callable[..., Any], jobs: Sequence[tuple[Any, ...]], *, label: str
) -> Iterator[Outcome]:
    """One task per job, results as they complete. A task whose worker dies is re-run
    elsewhere by the scheduler; one that raises is tried once more; neither stops the batch."""
    from distributed import as_completed

    run = uuid.uuid4().hex[:8]
    futures = {
        client.submit(_located, fn, *args, key=f"{label}-{run}-{i}", pure=False, retries=1): i
        for i, args in enumerate(jobs)
    }
    try:
        for fut in as_completed(futures, loop=client.loop):
            i = futures[fut]
            try:
                worker, value = fut.result()
            except Exception as exc:  # KilledWorker, TaskFailed, a lost scheduler...
                yield Outcome(i, None, error=str(exc) or type(exc).__name__)
            else:
                yield Outcome(i, worker, value)
    finally:
        client.cancel(list(futures))  # Ctrl-C or an error here: leave no task running


# ---------------------------------------------------------------------------- the rooms


def _qc_job(source: str, profile: Profile, thumbnails: str | None, cache: bool) -> QCResult:
    """Runs on a worker; an unchanged file is answered from that machine's cache."""
    from pipeline.cache import qc_file_cached

    return qc_file_cached(source, profile, thumbnails_dir=thumbnails, cache=cache)


def qc_batch(
    client: Client,
    plan: QCOutputs,
    profile: Profile,
    *,
    overwrite: bool,
    cache: bool = True,
    on_result: Callable[[QCResult, str | None], None] | None = None,
) -> list[QCResult]:
    """QC every target of `plan` on the cluster; the reports are written here, as each result
    arrives (see the module docstring). Results in plan order."""
    from pipeline.qc.findings import QCResult, Verdict
    from pipeline.qc.outputs import write_file_reports

    targets = plan.targets
    # thumbnails are written by the worker that decodes; the reports by this process
    shared = sorted({t.thumbnails.parent for t in targets if t.thumbnails is not None})
    for folder in [*plan.folders, *shared]:
        folder.mkdir(parents=True, exist_ok=True)
    require_visible(client, shared)
    results: list[QCResult | None] = [None] * len(targets)
    hidden = hidden_inputs(client, [t.source for t in targets])
    for i, why in hidden.items():
        results[i] = QCResult(
            file=str(targets[i].source), profile=profile.name, verdict=Verdict.ERROR, error=why
        )
    todo = [i for i in range(len(targets)) if i not in hidden]
    jobs = [(_abs(targets[i].source), profile, _abs(targets[i].thumbnails), cache) for i in todo]
    for out in run_each(client, _qc_job, jobs, label="rushline-qc"):
        i = todo[out.index]
        result = out.value
        if result is not None:
            result.file = str(targets[i].source)  # as given, as the local run reports it
        else:
            why = f"{targets[i].source}: not checked on the cluster: {out.error}"
            result = QCResult(
                file=str(targets[i].source), profile=profile.name, verdict=Verdict.ERROR, error=why
            )
        write_file_reports(targets[i], result, overwrite=overwrite)
        results[i] = result
        if on_result is not None:
            on_result(result, out.worker)
    for i in hidden:  # after the work: their error names the worker that cannot see them
        write_file_reports(targets[i], results[i], overwrite=overwrite)  # type: ignore[arg-type]
        if on_result is not None:
            on_result(results[i], None)  # type: ignore[arg-type]
    return [r for r in results if r is not None]


def _abs(p: Path | None) -> str | None:
    """Absolute: a worker's working folder is not ours."""
    return None if p is None else os.path.abspath(p)


def deliver_batch(
    client: Client,
    masters: Sequence[Path],
    profiles: Sequence[Profile],
    opts: Options,
    *,
    on_result: Callable[[Deliverable, str | None], None] | None = None,
) -> list[Deliverable]:
    """Every master × every profile on the cluster; the caller closes the delivery
    (`finish_delivery`: note and manifest, once, here)."""
    from pipeline.deliver.run import Deliverable, deliver_one

    opts.out_dir.mkdir(parents=True, exist_ok=True)
    require_visible(client, [opts.out_dir])
    there = opts.model_copy(update={"out_dir": opts.out_dir.resolve()})
    pairs = [(m, p) for m in masters for p in profiles]
    hidden = hidden_inputs(client, [m for m, _ in pairs])
    done: list[Deliverable | None] = [None] * len(pairs)
    for i, why in hidden.items():
        done[i] = Deliverable(master=str(pairs[i][0]), profile=pairs[i][1].name, error=why)
    todo = [i for i in range(len(pairs)) if i not in hidden]
    jobs = [(Path(os.path.abspath(pairs[i][0])), pairs[i][1], there) for i in todo]
    for out in run_each(client, deliver_one, jobs, label="rushline-deliver"):
        i = todo[out.index]
        d = out.value
        if d is not None:
            d.master = str(pairs[i][0])
        else:
            m, p = pairs[i]
            d = Deliverable(master=str(m), profile=p.name, error=f"{m}: {out.error}")
        done[i] = d
        if on_result is not None:
            on_result(d, out.worker)
    return [d for d in done if d is not None]


_sessions = threading.local()  # one ExifTool session per worker thread, kept for the next task


def _export_job(
    src: str, preset: ExportPreset, out: str, tpl: RightsTemplate | None, force: bool, seq: int
) -> ExportResult:
    import atexit

    from pipeline.exiftool import ExifToolSession
    from pipeline.photo.export import export_one

    session = getattr(_sessions, "session", None)
    if session is None:
        os.environ.setdefault("OMP_NUM_THREADS", "1")  # the cluster's threads are the cores
        session = _sessions.session = ExifToolSession().start()
        atexit.register(session.close)
    return export_one(
        Path(src), preset, Path(out), template=tpl, force=force, seq=seq, session=session
    )


def export_batch(
    client: Client,
    sources: Sequence[Path],
    preset: ExportPreset,
    out_dir: Path,
    *,
    template: RightsTemplate | None = None,
    force: bool = False,
) -> list[ExportResult]:
    """Export every picture on the cluster (results in source order; names numbered as the
    local batch numbers them)."""
    from pipeline.photo.export import ExportResult

    out_dir.mkdir(parents=True, exist_ok=True)
    require_visible(client, [out_dir])
    hidden = hidden_inputs(client, sources)
    results: list[ExportResult | None] = [None] * len(sources)
    for i, why in hidden.items():
        results[i] = ExportResult(source=str(sources[i]), preset=preset.name, error=why)
    todo = [i for i in range(len(sources)) if i not in hidden]
    jobs = [(_abs(sources[i]), preset, _abs(out_dir), template, force, i + 1) for i in todo]
    for out in run_each(client, _export_job, jobs, label="rushline-photo"):
        i = todo[out.index]
        res = out.value or ExportResult(
            source=str(sources[i]), preset=preset.name, error=f"{sources[i]}: {out.error}"
        )
        res.source = str(sources[i])
        results[i] = res
    return [r for r in results if r is not None]


# ---------------------------------------------------------------------------- a local cluster


@dataclass
class LocalDask:
    """A scheduler and worker processes on this machine (demo, tests, benchmarks), each a
    `dask` CLI process started through `tools.spawn` and stopped by its process id.

    Workers run without a nanny: one process per worker, so stopping (or killing) that process
    ends the worker and nothing restarts it behind our back.
    """

    folder: Path
    address: str = ""
    scheduler: tools.Process | None = None
    workers: list[tools.Process] = field(default_factory=list)

    def start(self, n_workers: int, *, timeout: float = 60.0) -> LocalDask:
        self.folder.mkdir(parents=True, exist_ok=True)
        info = self.folder / "scheduler.json"
        info.unlink(missing_ok=True)
        self.scheduler = tools.spawn(
            [_dask_exe(), "scheduler", "--host", "127.0.0.1", "--port", "0",
             "--no-dashboard", "--scheduler-file", info],
            what="Dask scheduler", stdout=False, stderr=False,
        )  # fmt: skip
        deadline = time.monotonic() + timeout
        while not _read_address(info):
            if self.scheduler.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise ClusterError("the local Dask scheduler did not start")
            time.sleep(0.1)
        self.address = _read_address(info)
        for _ in range(n_workers):
            self.add_worker()
        return self

    def add_worker(self, *, nthreads: int = 1) -> tools.Process:
        """One more worker process (it joins the scheduler on its own)."""
        proc = tools.spawn(
            [_dask_exe(), "worker", self.address, "--no-nanny", "--nthreads", str(nthreads),
             "--no-dashboard", "--local-directory", self.folder / "workers",
             "--name", f"rushline-{len(self.workers) + 1}"],
            what="Dask worker", stdout=False, stderr=False,
        )  # fmt: skip
        self.workers.append(proc)
        return proc

    def stop(self) -> None:
        """Stop every process started here, by its id: workers first, then the scheduler."""
        for proc in [*self.workers, *([self.scheduler] if self.scheduler else [])]:
            if proc.poll() is None:
                proc.terminate()
            tools.end(proc, timeout=10.0)

    def __enter__(self) -> LocalDask:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _dask_exe() -> str:
    beside = Path(sys.executable).parent / "dask"
    return str(beside) if beside.is_file() else "dask"


def _read_address(info: Path) -> str:
    try:
        return str(json.loads(info.read_text(encoding="utf-8"))["address"])
    except (OSError, ValueError, KeyError):
        return ""


# ---------------------------------------------------------------------------- split QC


def span_measurer(client: Client) -> Callable[[str, str, list[Any]], list[Any]]:
    """A `measure_all` for `pipeline.qc.splitrun`: one task per segment of the file on the
    cluster (after checking every worker sees the file), results in segment order. A segment
    that fails on every try stops the file with a ClusterError naming the worker."""

    def measure_all(path: str, profile: str, spans: list[Any]) -> list[Any]:
        from pipeline.qc.split import measure_span

        hidden = hidden_inputs(client, [Path(path)])
        if hidden:
            raise ClusterError(hidden[0])
        parts: list[Any] = [None] * len(spans)
        jobs = [(os.path.abspath(path), profile, span) for span in spans]
        for out in run_each(client, measure_span, jobs, label="rushline-span"):
            if out.value is None:
                raise ClusterError(
                    f"{path}: segment {out.index + 1} of {len(spans)} could not be measured on "
                    f"the cluster: {out.error}"
                )
            parts[out.index] = out.value
        return parts

    return measure_all
