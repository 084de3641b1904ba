"""`rushline archive SOURCE... --to DEST`, `archive verify BAG`, `archive restore BAG --to DIR`.

Thin: parse, call `pipeline.archive`, print. Paths come from the user and their files, so
each goes through `esc()` before Rich sees it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click
import typer
from typer.core import TyperGroup

from pipeline.cli._common import console, err_console, esc, user_errors, write_json

CATALOG_HELP = "Catalogue file or SQLAlchemy URL (default: $RUSHLINE_CATALOG, else data folder)."


class _PackByDefault(TyperGroup):
    """`rushline archive SOURCE...` means `rushline archive pack SOURCE...`."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if args and args[0] not in self.commands and args[0] not in ("--help", "-h"):
            args = ["pack", *args]
        return super().parse_args(ctx, args)


archive_app = typer.Typer(
    cls=_PackByDefault,
    help="Cold archive: pack rolls, deliveries or a project as BagIt bags (LTO spanning), "
    "verify them, restore them. `rushline archive SOURCE... --to DEST` packs.",
    no_args_is_help=True,
)


def _info(project: str | None, kind: str, note: str | None) -> dict[str, str]:
    info = {"Archive-Kind": kind}
    if project:
        info["Project"] = project
    if note:
        info["Internal-Sender-Description"] = note
    return info


@archive_app.command("pack")
@user_errors
def pack_cmd(
    sources: list[Path] = typer.Argument(..., help="Roll folders, delivery folders or files."),
    to: list[str] = typer.Option(
        ...,
        "--to",
        help="Destination folder; repeat for a set of volumes, each PATH or PATH=CAPACITY "
        "(lto-7, lto-8, lto-9, 500G, 2.5T) to span the archive over them.",
    ),
    project: str = typer.Option(..., "--project", "-p", help="Project code (A-Z a-z 0-9 -)."),
    kind: str = typer.Option("roll", "--kind", "-k", help="roll, delivery or project."),
    name: str = typer.Option(
        "{project}_{date}_{kind}_{seq}", "--name", help="Bag name template (or a full name)."
    ),
    date: str | None = typer.Option(None, "--date", help="YYYYMMDD or YYYY-MM-DD (today)."),
    seq: int | None = typer.Option(None, "--seq", help="Sequence number (next free)."),
    sha512: bool = typer.Option(False, "--sha512", help="Also write a SHA-512 manifest."),
    note: str | None = typer.Option(None, "--note", help="A description kept in bag-info.txt."),
    catalog: str | None = typer.Option(None, "--catalog", help=CATALOG_HELP),
    json_out: Path | None = typer.Option(None, "--json", help="Write the result as JSON."),
) -> None:
    """Pack SOURCE... as a BagIt bag named by the archive naming scheme."""
    from pipeline.archive.naming import check_name, make_name
    from pipeline.archive.pack import archive

    _refuse_existing(json_out)
    if "{" in name:
        first = to[0].rpartition("=")[0] if "=" in to[0] else to[0]
        bag_name = make_name(project, kind, date=date, seq=seq, template=name, dest=first)
    else:
        bag_name = check_name(name)
    algs = ("sha256", "sha512") if sha512 else ("sha256",)
    with console.status(f"archiving into {esc(bag_name)}"):
        result = archive(
            sources, to, bag_name, info=_info(project, kind, note), algorithms=algs, catalog=catalog
        )
    _print_archive(result)
    if json_out is not None:
        write_json(_as_dict(result), json_out)


def _refuse_existing(out: Path | None) -> None:
    from pipeline.errors import UserInputError

    if out is not None and str(out) != "-" and out.exists():
        raise UserInputError(f"{out} exists already; not overwriting it (choose another --json)")


def _as_dict(result: Any) -> dict[str, Any]:
    from dataclasses import asdict

    return asdict(result)


def _print_archive(result: Any) -> None:
    for bag in result.bags:
        console.print(
            f"[green]bagged[/] {esc(bag.path)}: {bag.files} files, {bag.bytes / 1e9:.3f} GB, "
            f"{'+'.join(bag.algorithms)} manifests, every copy read back",
            highlight=False,
        )
        if bag.clips_recorded:
            console.print(f"  catalogue: {bag.clips_recorded} clips located", highlight=False)
    for s in result.skipped:
        err_console.print(f"[yellow]not archived:[/] {esc(s)}", highlight=False)
    if result.catalog_note:
        err_console.print(f"[yellow]warning:[/] {esc(result.catalog_note)}", highlight=False)


@archive_app.command("verify")
@user_errors
def verify_cmd(
    bag: Path = typer.Argument(..., help="The bag folder (holding bagit.txt)."),
    json_out: Path | None = typer.Option(None, "--json", help="Write the report as JSON."),
) -> None:
    """Re-read every file of a bag and compare with its manifests."""
    from pipeline.archive.verify import verify_bag

    _refuse_existing(json_out)
    with console.status(f"verifying {esc(bag)}"):
        report = verify_bag(bag)
    if json_out is not None:
        write_json(_as_dict(report) | {"ok": report.ok}, json_out)
    for label, items in (("ALTERED", report.altered), ("MISSING", report.missing)):
        for x in items:
            console.print(f"[red]{label}[/] {esc(x)}", highlight=False)
    for x in report.extra:
        console.print(f"[red]NOT IN MANIFEST[/] {esc(x)}", highlight=False)
    if report.oxum:
        console.print(f"[red]OXUM[/] {esc(report.oxum)}", highlight=False)
    verdict = "[green]valid[/]" if report.ok else "[red]INVALID[/]"
    console.print(
        f"{verdict} {esc(bag)}: {report.files} payload files, {report.bytes / 1e9:.3f} GB re-read",
        highlight=False,
    )
    if not report.ok:
        raise typer.Exit(report.exit_code)


@archive_app.command("restore")
@user_errors
def restore_cmd(
    bag: Path = typer.Argument(..., help="The bag folder (holding bagit.txt)."),
    to: Path = typer.Option(..., "--to", help="Folder to restore into (nothing overwritten)."),
) -> None:
    """Copy a bag's payload back, each file checked against the manifest and read back."""
    from pipeline.archive.restore import restore_bag

    with console.status(f"restoring {esc(bag)}"):
        result = restore_bag(bag, to)
    console.print(
        f"[green]restored[/] {len(result.restored)} files ({result.bytes / 1e9:.3f} GB) into "
        f"{esc(result.to)}, each verified against the manifest"
        + (f"; {len(result.identical)} already there, identical" if result.identical else ""),
        highlight=False,
    )


def register(app: typer.Typer) -> None:
    """Add this room's commands to the main app."""
    app.add_typer(archive_app, name="archive")
