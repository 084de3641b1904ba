"""`--cluster tcp://host:8786` for the batch commands (qc, deliver, photo export): connect, call
`pipeline.cluster`, print one line per file as it completes, with the worker that made it."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from pipeline.cli._common import console, err_console, esc

if TYPE_CHECKING:
    from pipeline.deliver.run import DeliveryNote, Options
    from pipeline.photo.export import ExportResult
    from pipeline.photo.presets import ExportPreset
    from pipeline.profiles import Profile
    from pipeline.qc.findings import QCResult
    from pipeline.qc.outputs import QCOutputs
    from pipeline.rights.template import RightsTemplate

CLUSTER_HELP = (
    "Run the batch on a Dask cluster: the scheduler's address (tcp://host:8786). Every worker "
    "must mount the inputs and the output folder at the same paths as this machine."
)


def cluster_option() -> Any:
    """The `--cluster ADDR` option (one declaration for every batch command)."""
    return typer.Option(None, "--cluster", metavar="ADDR", help=CLUSTER_HELP)


def _where(worker: str | None) -> str:
    return f" [dim](on {esc(worker)})[/]" if worker else ""


def qc(
    address: str, plan: QCOutputs, profile: Profile, *, force: bool, cache: bool = True
) -> list[QCResult]:
    """`rushline qc --cluster`: the reports land where the local run puts them."""
    from pipeline.cluster import connect, qc_batch

    out = err_console if plan.json_stdout else console

    def shown(result: QCResult, worker: str | None) -> None:
        name = esc(Path(result.file).name)
        if result.error:
            err_console.print(f"[bold red]error:[/] {esc(result.error)}", highlight=False)
        else:
            out.print(f"{name}: {result.verdict.value}{_where(worker)}", highlight=False)
        if plan.json_stdout:
            typer.echo(result.model_dump_json(indent=2))

    client = connect(address)
    try:
        with err_console.status(f"QC of {len(plan.targets)} file(s) on {esc(address)}…"):
            return qc_batch(client, plan, profile, overwrite=force, cache=cache, on_result=shown)
    finally:
        client.close()


def split_qc(
    address: str | None,
    plan: QCOutputs,
    profile_ref: str,
    segments: int,
    *,
    force: bool,
    cache: bool,
) -> list[QCResult]:
    """`rushline qc --split N [--cluster ADDR]`: each file in N segments, measured on the
    cluster's workers (here, one after the other, without a cluster), merged here."""
    import os

    from pipeline.qc.splitrun import measure_here, split_to_reports

    ref = os.path.abspath(profile_ref) if Path(profile_ref).is_file() else profile_ref
    out = err_console if plan.json_stdout else console
    client = None
    measure_all = measure_here
    if address is not None:
        from pipeline.cluster import connect, span_measurer

        client = connect(address)
        measure_all = span_measurer(client)
    where = f"on {esc(address)}" if address else "here"
    results = []
    try:
        for target in plan.targets:
            name = esc(target.source.name)
            with err_console.status(f"QC {name} in {segments} segments {where}…"):
                result = split_to_reports(
                    target, ref, segments, overwrite=force, measure_all=measure_all, cache=cache
                )
            results.append(result)
            if result.error:
                err_console.print(f"[bold red]error:[/] {esc(result.error)}", highlight=False)
            else:
                came = " (cached)" if result.cached else ""
                out.print(f"{name}: {result.verdict.value}{came}", highlight=False)
            if plan.json_stdout:
                typer.echo(result.model_dump_json(indent=2))
    finally:
        if client is not None:
            client.close()
    return results


def deliver(
    address: str, masters: Sequence[Path], profiles: Sequence[Profile], opts: Options
) -> DeliveryNote:
    """`rushline deliver --cluster`: deliverables made on the workers, the note and the
    manifest written here once every task is back."""
    from pipeline.cluster import connect, deliver_batch
    from pipeline.deliver.run import finish_delivery

    def shown(d: Any, worker: str | None) -> None:
        line = f"{esc(Path(d.master).name)} → {esc(d.profile)}: {d.status}{_where(worker)}"
        console.print(line, highlight=False)

    client = connect(address)
    try:
        with err_console.status(f"delivering on {esc(address)}…"):
            done = deliver_batch(client, masters, profiles, opts, on_result=shown)
    finally:
        client.close()
    return finish_delivery(opts.out_dir, done, manifest=opts.manifest)


def export(
    address: str,
    files: Sequence[Path],
    preset: ExportPreset,
    out: Path,
    *,
    template: RightsTemplate | None,
    force: bool,
) -> list[ExportResult]:
    """`rushline photo export --cluster`: one task per picture."""
    from pipeline.cluster import connect, export_batch

    client = connect(address)
    try:
        with err_console.status(f"exporting {len(files)} picture(s) on {esc(address)}…"):
            return export_batch(client, files, preset, out, template=template, force=force)
    finally:
        client.close()
