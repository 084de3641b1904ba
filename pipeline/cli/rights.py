"""`rushline rights apply|show|check`: one rights template, into every kind of file, read back.

Thin: parse, call `pipeline.rights.batch`, print. Every file name, value, note and error comes
from the user or their files, so each goes through `esc()` before Rich sees it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer
from rich.table import Table

from pipeline.cli._common import console, err_console, esc, user_errors, write_json
from pipeline.cli.catalog import NO_CATALOG_HELP, catalog_warning

rights_app = typer.Typer(
    help="Rights metadata (IPTC/XMP): apply a template, show what files carry, check them.",
    no_args_is_help=True,
)


@rights_app.command("apply")
@user_errors
def apply_cmd(
    paths: list[Path] = typer.Argument(..., help="Files or folders."),
    template: str = typer.Option(..., "--template", "-t", help="Template name or .yaml path."),
    embed: bool = typer.Option(
        False,
        "--embed",
        help="These are our deliverables: embed rights in JPEG/TIFF/DNG/MP4/MOV/WAV. Camera "
        "RAW and MHL-managed originals still only get sidecars.",
    ),
    sidecar_style: str = typer.Option(
        "name", "--sidecar-style", help="name: IMG.xmp (Lightroom, C1); ext: IMG.CR3.xmp."
    ),
    sidecar_dir: Path | None = typer.Option(
        None, "--sidecar-dir", help="Write sidecars here (e.g. for a read-only card)."
    ),
    var: list[str] = typer.Option([], "--var", help="NAME=VALUE for a template variable."),
    break_c2pa: bool = typer.Option(
        False, "--break-c2pa", help="Embed even into files with C2PA credentials (breaks them)."
    ),
    json_out: Path | None = typer.Option(None, "--json", help="Write results as JSON ('-')."),
    no_catalog: bool = typer.Option(False, "--no-catalog", help=NO_CATALOG_HELP),
) -> None:
    """Write a rights template into deliverables, or into XMP sidecars of originals."""
    from pipeline.catalog.hooks import rights_done
    from pipeline.rights.batch import parse_variables, run_apply

    outcome = run_apply(
        paths,
        template,
        variables=parse_variables(var),
        embed=embed,
        sidecar_style=sidecar_style,
        sidecar_dir=sidecar_dir,
        break_c2pa=break_c2pa,
    )
    if json_out is not None:
        write_json([r.model_dump() for r in outcome.results], json_out)
    if json_out is None or str(json_out) != "-":
        _print_apply(outcome)
    catalog_warning(rights_done(outcome, on=not no_catalog))
    if outcome.exit_code:
        raise typer.Exit(outcome.exit_code)


def _print_apply(outcome: Any) -> None:
    from pipeline.rights.batch import result_rows

    table = Table("file", "result", "carried in", "notes")
    for r, row in zip(outcome.results, result_rows(outcome.results), strict=True):
        if r.action == "error":
            table.add_row(esc(r.path), "[red]error[/]", "", esc(r.error or ""))
            continue
        status = esc(row["result"])
        if r.not_written:
            status = f"[yellow]{status}[/]"
        notes = [esc(n) for n in r.notes]
        if r.not_written:
            notes.append("NOT written: " + esc(row["not written"]))
        table.add_row(esc(r.path), status, esc(row["carried in"]), "\n".join(notes))
    console.print(table)
    console.print(esc(outcome.summary), highlight=False)


@rights_app.command("show")
@user_errors
def show_cmd(
    paths: list[Path] = typer.Argument(..., help="Files or folders."),
    sidecar_dir: Path | None = typer.Option(None, "--sidecar-dir", help="Where sidecars are."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of tables."),
) -> None:
    """Print the effective rights of each file (embedded, or from its sidecar)."""
    from pipeline.rights.batch import run_show, show_exit_code

    rows = run_show(paths, sidecar_dir=sidecar_dir)
    if as_json:
        write_json(rows, None)
    else:
        for data in rows:
            _print_show(data)
    code = show_exit_code(rows)
    if code:
        raise typer.Exit(code)


def _print_show(data: dict[str, Any]) -> None:
    table = Table(title=esc(data["path"]), show_header=True)
    table.add_column("field")
    table.add_column("value")
    table.add_column("from", style="dim")
    for k, v in data["fields"].items():
        table.add_row(esc(k), esc(v), esc(data["sources"].get(k, "")))
    console.print(table)
    if data["error"]:
        err_console.print(f"[red]{esc(data['error'])}[/]", highlight=False)
    elif not data["fields"]:
        console.print("  no rights metadata")
    for flag in (data.get("provenance") or {}).get("flags", []):
        console.print(f"  [bold yellow]⚠ {esc(flag)}[/]", highlight=False)


@rights_app.command("check")
@user_errors
def check_cmd(
    paths: list[Path] = typer.Argument(..., help="Files or folders."),
    template: str = typer.Option(..., "--template", "-t", help="Template name or .yaml path."),
    fields: str | None = typer.Option(
        None, "--fields", help="Comma-separated fields to require (default: all the template sets)."
    ),
    var: list[str] = typer.Option([], "--var", help="NAME=VALUE for a template variable."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON findings."),
) -> None:
    """Say which template fields each file lacks or carries with another value (exit 1)."""
    from pipeline.rights.batch import check_exit_code, parse_variables, run_check

    report = run_check(
        paths,
        template,
        fields=fields.split(",") if fields else None,
        variables=parse_variables(var),
    )
    if as_json:
        write_json(
            {p: [x.model_dump(exclude_none=True) for x in fs] for p, fs in report.items()}, None
        )
    else:
        for path, findings in report.items():
            if not findings:
                console.print(f"[green]ok[/]   {esc(path)}", highlight=False)
                continue
            console.print(f"[red]FAIL[/] {esc(path)}", highlight=False)
            for x in findings:
                console.print(f"       {esc(x.check)}: {esc(x.message)}", highlight=False)
    code = check_exit_code(report)
    if code:
        raise typer.Exit(code)


def register(app: typer.Typer) -> None:
    """Add this room's commands (and the rights register's) to the main app."""
    from pipeline.cli.rights_register import register as add_register_commands

    add_register_commands(rights_app)
    app.add_typer(rights_app, name="rights")
