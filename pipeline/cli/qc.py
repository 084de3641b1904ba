"""`rushline qc FILE... --profile NAME`: QC files against a delivery profile.

Exit 0 when every file passes (warnings allowed), 1 when a file fails, 2 when a file could not
be measured. A bad file never stops the batch.
"""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table

from pipeline.cli._common import console, err_console, user_errors
from pipeline.errors import UserInputError
from pipeline.qc.findings import QCResult, Severity

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
            Path(r.file).name,
            f"[{style}]{r.verdict.value}[/]",
            str(len(errs)),
            str(len(warns)),
            f"{il:.1f} LUFS" if il is not None else "—",
            f"{tp:.1f} dBTP" if tp is not None else "—",
            first,
        )
    return table


def register(app: typer.Typer) -> None:
    """Add `rushline qc`."""

    @app.command()
    @user_errors
    def qc(
        files: list[Path] = typer.Argument(..., help="Media files to check (audio-only too)."),
        profile: str = typer.Option(
            ..., "--profile", "-p", help="Profile name (see `rushline profiles`) or YAML path."
        ),
        json_out: Path | None = typer.Option(
            None,
            "--json",
            help="Write the JSON result: a file for one input ('-' = stdout), a folder for "
            "several.",
        ),
        html_out: Path | None = typer.Option(
            None,
            "--html",
            help="Write the HTML report (with thumbnails beside it): a file for one input, a "
            "folder for several (one page each and index.html).",
        ),
    ) -> None:
        """Check files against a delivery profile in one decode pass: loudness, format, black,
        freeze, levels, flashes, interlace, silence, clipping, phase, channel layout.

        Exit 0 pass (warnings allowed), 1 a file fails, 2 a file could not be measured.
        """
        from pipeline.profiles import load_profile
        from pipeline.qc.run import exit_code_for, qc_file
        from pipeline.report.qc import unique_report_names, write_qc_html, write_qc_json
        from pipeline.tools import tool_versions

        prof = load_profile(profile)
        several = len(files) > 1
        for out in (json_out, html_out):
            if (
                several
                and out is not None
                and str(out) != "-"
                and out.exists()
                and not out.is_dir()
            ):
                raise UserInputError(
                    f"{out} is a file; with several inputs --json/--html take a folder",
                    path=out,
                )
        if several and json_out is not None and str(json_out) == "-":
            raise UserInputError("--json - (stdout) takes one input file; give a folder instead")
        names = unique_report_names(files)
        tools = tool_versions()
        results: list[QCResult] = []
        for path, name in zip(files, names, strict=True):
            thumbs = None
            if html_out is not None:
                thumbs = (
                    html_out / f"{name}_thumbs"
                    if several
                    else html_out.parent / f"{html_out.stem}_thumbs"
                )
            with err_console.status(f"QC {path.name} against {prof.name}…"):
                result = qc_file(path, prof, thumbnails_dir=thumbs, tools=tools)
            results.append(result)
            if result.error:
                err_console.print(f"[bold red]error:[/] {result.error}", highlight=False)
            if json_out is not None:
                if several:
                    write_qc_json(result, json_out / f"{name}.qc.json")
                elif str(json_out) == "-":
                    typer.echo(result.model_dump_json(indent=2))
                else:
                    write_qc_json(result, json_out)
            if html_out is not None and several:
                write_qc_html([result], html_out / f"{name}.qc.html")
        if html_out is not None:
            dest = html_out / "index.html" if several else html_out
            write_qc_html(results, dest)
        target = err_console if json_out is not None and str(json_out) == "-" else console
        target.print(_summary_table(results))
        if html_out is not None:
            target.print(f"HTML report: {html_out / 'index.html' if several else html_out}")
        raise typer.Exit(exit_code_for(results))
