"""`rushline rights apply|show|check`: one rights template, into every kind of file, read back."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table

from pipeline.cli._common import console, err_console, user_errors, write_json
from pipeline.errors import UserInputError

rights_app = typer.Typer(
    help="Rights metadata (IPTC/XMP): apply a template, show what files carry, check them.",
    no_args_is_help=True,
)


def _vars(items: list[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise UserInputError(f"--var {item!r} is not NAME=VALUE", hint="e.g. --var client=ACME")
        out[key.strip()] = value
    return out


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
) -> None:
    """Write a rights template into deliverables, or into XMP sidecars of originals."""
    from pipeline.rights.apply import apply_rights, summarize
    from pipeline.rights.template import load_template

    if sidecar_style not in ("name", "ext"):
        raise UserInputError("--sidecar-style must be 'name' or 'ext'")
    tpl = load_template(template, variables=_vars(var))
    results = apply_rights(
        paths,
        tpl,
        embed=embed,
        sidecar_style=sidecar_style,  # type: ignore[arg-type]
        sidecar_dir=sidecar_dir,
        break_c2pa=break_c2pa,
    )
    if json_out is not None:
        write_json([r.model_dump() for r in results], json_out)
    if json_out is None or str(json_out) != "-":
        table = Table("file", "result", "carried in", "notes")
        for r in results:
            if r.action == "error":
                table.add_row(r.path, "[red]error[/]", "", r.error or "")
                continue
            status = r.action if not r.not_written else f"[yellow]{r.action}, incomplete[/]"
            notes = list(r.notes)
            if r.not_written:
                notes.append(
                    "NOT written: " + ", ".join(f"{k} ({v})" for k, v in r.not_written.items())
                )
            table.add_row(r.path, status, r.target or "", "\n".join(notes))
        console.print(table)
        counts = summarize(results)
        console.print(", ".join(f"{v} {k}" for k, v in counts.items() if v))
    if any(r.action == "error" for r in results):
        raise typer.Exit(2)
    if any(r.not_written for r in results):
        raise typer.Exit(1)


@rights_app.command("show")
@user_errors
def show_cmd(
    paths: list[Path] = typer.Argument(..., help="Files or folders."),
    sidecar_dir: Path | None = typer.Option(None, "--sidecar-dir", help="Where sidecars are."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of tables."),
) -> None:
    """Print the effective rights of each file (embedded, or from its sidecar)."""
    from pipeline.rights.provenance import read_provenance
    from pipeline.rights.show import show_rights

    effective = show_rights(paths, sidecar_dir=sidecar_dir)
    rows = []
    for eff in effective:
        data = eff.model_dump()
        if eff.error is None or eff.fields:
            prov = read_provenance(
                eff.path,
                xmp_row={"XMP-iptcExt:DigitalSourceType": eff.fields.get("digital_source_type")},
            )
            data["provenance"] = prov.model_dump()
            data["provenance"]["flags"] = prov.flags
        rows.append(data)
    if as_json:
        write_json(rows, None)
    else:
        for data in rows:
            table = Table(title=data["path"], show_header=True)
            table.add_column("field")
            table.add_column("value")
            table.add_column("from", style="dim")
            for k, v in data["fields"].items():
                table.add_row(k, str(v), data["sources"].get(k, ""))
            console.print(table)
            if data["error"]:
                err_console.print(f"[red]{data['error']}[/]")
            elif not data["fields"]:
                console.print("  no rights metadata")
            for flag in (data.get("provenance") or {}).get("flags", []):
                console.print(f"  [bold yellow]⚠ {flag}[/]")
    if any(e.error for e in effective):
        raise typer.Exit(2)


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
    from pipeline.rights.apply import iter_files
    from pipeline.rights.check import check_rights
    from pipeline.rights.exiftool import ExifToolSession
    from pipeline.rights.show import show_rights
    from pipeline.rights.template import load_template

    tpl = load_template(template, variables=_vars(var))
    wanted = [f.strip() for f in fields.split(",")] if fields else None
    report: dict[str, list[dict]] = {}
    with ExifToolSession() as s:
        files = iter_files(paths)
        effective = show_rights(files, session=s)
        for f, eff in zip(files, effective, strict=True):
            findings = check_rights(f, tpl, wanted, effective=eff, session=s)
            report[str(f)] = [x.model_dump(exclude_none=True) for x in findings]
    if as_json:
        write_json(report, None)
    else:
        for path, findings in report.items():
            if not findings:
                console.print(f"[green]ok[/]   {path}")
                continue
            console.print(f"[red]FAIL[/] {path}")
            for x in findings:
                console.print(f"       {x['check']}: {x['message']}", highlight=False)
    if any(report.values()):
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    """Add this room's commands to the main app."""
    app.add_typer(rights_app, name="rights")
