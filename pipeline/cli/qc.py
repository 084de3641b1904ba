"""`rushline qc PATH... --profile NAME`: QC files (or folders of them) against a delivery profile.

Exit 0 when every file passes (warnings allowed), 1 when a file fails, 2 when a file could not
be measured or the arguments are wrong. A bad file never stops the batch. Where the reports go
is decided, and checked, in `pipeline.qc.outputs` before anything is decoded.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.table import Table

from pipeline.cli import cluster as cluster_cli
from pipeline.cli._common import console, err_console, esc, user_errors
from pipeline.cli.catalog import NO_CATALOG_HELP, catalog_warning
from pipeline.qc.findings import QCResult, Severity

if TYPE_CHECKING:
    from pipeline.profiles import Profile
    from pipeline.qc.outputs import QCOutputs

VERDICT_STYLE = {"pass": "green", "warn": "yellow", "fail": "red", "error": "bold red"}


def _summary_table(results: list[QCResult]) -> Table:
    table = Table(title="QC", show_lines=False)
    table.add_column("File", overflow="fold")
    table.add_column("Verdict")
    table.add_column("Errors", justify="right")
    table.add_column("Warnings", justify="right")
    table.add_column("Loudness", justify="right")
    table.add_column("True peak", justify="right")
    table.add_column("First problem", overflow="fold")
    for r in results:
        errs = [f for f in r.findings if f.severity == Severity.ERROR]
        warns = [f for f in r.findings if f.severity == Severity.WARNING]
        loud = r.measurements.get("loudness") or {}
        il, tp = loud.get("integrated_lufs"), loud.get("true_peak_dbtp")
        first = r.error or (errs[0].message if errs else warns[0].message if warns else "")
        style = VERDICT_STYLE.get(r.verdict.value, "")
        table.add_row(
            esc(Path(r.file).name),
            f"[{style}]{r.verdict.value}[/]" + (" (cached)" if r.cached else ""),
            str(len(errs)),
            str(len(warns)),
            f"{il:.1f} LUFS" if il is not None else "—",
            f"{tp:.1f} dBTP" if tp is not None else "—",
            esc(first),
        )
    return table


def _qc_here(plan: QCOutputs, prof: Profile, *, force: bool, cache: bool) -> list[QCResult]:
    """Every file in this process, one after the other (each decode uses every core)."""
    from pipeline.qc.outputs import qc_to_reports
    from pipeline.tools import tool_versions

    tools = tool_versions()
    results: list[QCResult] = []
    for target in plan.targets:
        with err_console.status(f"QC {esc(target.source.name)} against {esc(prof.name)}…"):
            result = qc_to_reports(target, prof, overwrite=force, tools=tools, cache=cache)
        results.append(result)
        if result.error:
            err_console.print(f"[bold red]error:[/] {esc(result.error)}", highlight=False)
        if plan.json_stdout:
            typer.echo(result.model_dump_json(indent=2))
    return results


def register(app: typer.Typer) -> None:
    """Add `rushline qc`."""

    @app.command()
    @user_errors
    def qc(
        paths: list[Path] = typer.Argument(
            ...,
            help="Media files, or folders searched recursively for audio and video files.",
        ),
        profile: str = typer.Option(
            ..., "--profile", "-p", help="Profile name (see `rushline profiles`) or YAML path."
        ),
        json_out: Path | None = typer.Option(
            None,
            "--json",
            help="Write the JSON result: a file for one input ('-' = stdout), a folder for "
            "several (or an existing folder: <folder>/<name>.qc.json).",
        ),
        html_out: Path | None = typer.Option(
            None,
            "--html",
            help="Write the HTML report (with thumbnails beside it): a file for one input, a "
            "folder for several (one page each and index.html).",
        ),
        force: bool = typer.Option(
            False, "--force", help="Replace existing reports (never an input file)."
        ),
        no_catalog: bool = typer.Option(False, "--no-catalog", help=NO_CATALOG_HELP),
        no_cache: bool = typer.Option(
            False, "--no-cache", help="Measure again even when an unchanged file is in the cache."
        ),
        cluster: str | None = cluster_cli.cluster_option(),
        split: int | None = typer.Option(
            None,
            "--split",
            min=2,
            max=64,
            metavar="N",
            help="Cut each file into N time segments on keyframes, measure them in parallel "
            "(on the --cluster's workers) and merge them exactly: the result equals one pass.",
        ),
    ) -> None:
        """Check files against a delivery profile in one decode pass: loudness, format, black,
        freeze, levels, flashes, interlace, silence, clipping, phase, channel layout.

        Exit 0 pass (warnings allowed), 1 a file fails, 2 a file could not be measured.
        """
        from pipeline.catalog.hooks import qc_done
        from pipeline.profiles import load_profile
        from pipeline.qc.inputs import media_files
        from pipeline.qc.outputs import (
            check_outputs,
            html_report,
            plan_outputs,
            write_batch_reports,
        )
        from pipeline.qc.run import exit_code_for

        prof = load_profile(profile)
        files = media_files(paths)
        plan = plan_outputs(files, json_out=json_out, html_out=html_out)
        check_outputs(plan, force=force)
        cache = not no_cache
        if split is not None:  # each file in time segments, on the cluster when one is given
            results = cluster_cli.split_qc(cluster, plan, profile, split, force=force, cache=cache)
        elif cluster is not None:  # one task per file on the Dask cluster; reports written here
            results = cluster_cli.qc(cluster, plan, prof, force=force, cache=cache)
        else:
            results = _qc_here(plan, prof, force=force, cache=cache)
        write_batch_reports(plan, results, overwrite=force)
        target_console = err_console if plan.json_stdout else console
        target_console.print(_summary_table(results))
        page = html_report(plan)
        if page is not None:
            target_console.print(f"HTML report: {esc(page)}", highlight=False)
        catalog_warning(qc_done(results, on=not no_catalog))
        raise typer.Exit(exit_code_for(results))
