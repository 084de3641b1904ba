"""`rushline catalog search|show|import|export`: the production's memory, from the terminal."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table
from rich.text import Text

from pipeline import exitcodes
from pipeline.cli._common import console, err_console, esc, fail, user_errors, write_json

CATALOG_HELP = (
    "Catalogue file or SQLAlchemy URL (default: $RUSHLINE_CATALOG, else the data folder)."
)

NO_CATALOG_HELP = "Do not record this run in the catalogue (or set RUSHLINE_CATALOG=off)."


def catalog_warning(message: str | None) -> None:
    """Show a catalogue hook's warning (the catalogue was not updated) as one line."""
    if message:
        err_console.print(f"[yellow]warning:[/] {esc(message)}", highlight=False)


catalog_app = typer.Typer(
    help="The production's clip library: search, show, import, export.", no_args_is_help=True
)


def _copies_cell(hit) -> Text:  # noqa: ANN001 - ClipHit, imported lazily
    out = Text()
    for i, k in enumerate(hit.copies):
        if i:
            out.append("\n")
        style = "green" if k.verified else "yellow"
        out.append(k.volume, style=f"bold {style}")
        out.append(f" {k.verified or 'not verified'}", style=style)
        if k.verified_at:
            out.append(f" {k.verified_at}", style="dim")
    return out or Text("no copy", style="red")


def _print_hits(result) -> None:  # noqa: ANN001 - SearchResult
    table = Table(
        title=f"{result.total} clips"
        + (" (first shown)" if result.total > len(result.clips) else ""),
        expand=True,
    )
    for col in ("clip", "roll", "tc", "camera", "qc", "copies"):
        table.add_column(col, overflow="fold")
    for h in result.clips:
        tc = f"{h.start_tc}–{h.end_tc}" if h.start_tc else ""
        table.add_row(
            Text(f"#{h.id} {h.name}"),
            Text(h.roll),
            tc,
            Text(h.camera or ""),
            h.verdict or "",
            _copies_cell(h),
        )
    console.print(table, highlight=False)


def _show(hit) -> None:  # noqa: ANN001 - ClipHit
    console.print(f"[bold]#{hit.id} {esc(hit.name)}[/]  roll {esc(hit.roll)}  {esc(hit.path)}")
    facts = hit.model_dump(exclude={"id", "name", "roll", "path", "copies", "hashes"})
    for key, value in facts.items():
        if value not in (None, ""):
            console.print(f"  {key:16} {esc(value)}", highlight=False)
    for fmt, value in sorted(hit.hashes.items()):
        console.print(f"  {fmt:16} {esc(value)}", highlight=False)
    console.print(f"  copies ({hit.verified_copies} verified):")
    for k in hit.copies:
        state = f"verified ({k.verified}) {k.verified_at or ''}" if k.verified else "NOT verified"
        gen = f" MHL gen {k.mhl_generation}" if k.mhl_generation else ""
        console.print(f"    {esc(k.volume)}: {esc(k.path)} — {esc(state)}{gen}", highlight=False)


@catalog_app.command("search")
@user_errors
def search_cmd(
    query: str = typer.Argument(
        "",
        help="Free text and filters (camera:FX6 reel:A001 "
        "tc:14:23:10:00 date:2026-11-22 verdict:fail on:SHUTTLE1 "
        "copies:<2).",
    ),
    json_out: bool = typer.Option(False, "--json", help="Print JSON instead of a table."),
    limit: int = typer.Option(100, "--limit", min=1, help="At most this many clips."),
    catalog: str | None = typer.Option(None, "--catalog", help=CATALOG_HELP),
) -> None:
    """Find clips, and where their copies are (and whether they are verified).

    Exit 0 when something matched, 1 when nothing did.
    """
    from pipeline.catalog.db import open_catalog
    from pipeline.catalog.search import search

    result = search(open_catalog(catalog), query, limit=limit)
    if json_out:
        write_json(result.model_dump(mode="json"), None)
    else:
        _print_hits(result)
    if result.total == 0:
        raise typer.Exit(exitcodes.FAILED)


@catalog_app.command("show")
@user_errors
def show_cmd(
    clip: str = typer.Argument(..., help="#id, a clip name, roll/path, or a copy's path."),
    json_out: bool = typer.Option(False, "--json", help="Print JSON."),
    catalog: str | None = typer.Option(None, "--catalog", help=CATALOG_HELP),
) -> None:
    """Everything the catalogue knows about one clip."""
    from pipeline.catalog.db import open_catalog
    from pipeline.catalog.search import find_clip

    found = find_clip(open_catalog(catalog), clip)
    if not found:
        raise fail(
            f"no clip {clip!r} in the catalogue (try `rushline catalog search`)",
            exitcodes.FAILED,
        )
    if json_out:
        write_json([h.model_dump(mode="json") for h in found], None)
        return
    for hit in found:
        _show(hit)


@catalog_app.command("import")
@user_errors
def import_cmd(
    paths: list[Path] = typer.Argument(..., help="Offloaded drives or roll folders."),
    volume: str | None = typer.Option(
        None, "--volume", help="Name the drive (default: its volume or folder name)."
    ),
    probe: bool = typer.Option(
        False, "--probe", help="Also probe the indexed files and record what each one is."
    ),
    catalog: str | None = typer.Option(None, "--catalog", help=CATALOG_HELP),
) -> None:
    """Index offloaded drives from their ASC MHL histories (rebuilds a lost catalogue).

    Exit 0 when every history was read and every listed file found, 1 otherwise.
    """
    from pipeline.catalog.db import open_catalog
    from pipeline.catalog.importer import import_path

    cat = open_catalog(catalog)
    bad = False
    for path in paths:
        s = import_path(path, catalog=cat, volume=volume)
        console.print(
            f"{esc(path)}: {len(s.rolls)} rolls, {s.clips} clips, {s.copies} copies indexed",
            highlight=False,
        )
        for line in s.problems:
            err_console.print(f"[yellow]warning:[/] {esc(line)}", highlight=False)
        for line in s.missing:
            err_console.print(f"[red]missing:[/] {esc(line)}", highlight=False)
        bad = bad or bool(s.problems or s.missing) or not s.rolls
        if not s.rolls:
            err_console.print(f"[red]no ASC MHL history under[/] {esc(path)}")
        elif probe:
            _probe_imported(path, cat)
    if bad:
        raise typer.Exit(exitcodes.FAILED)


def _probe_imported(path: Path, cat) -> None:  # noqa: ANN001 - Catalog, imported lazily
    """Probe a freshly imported drive: facts for the clips it holds (other files skipped)."""
    from pipeline.catalog.record import record_probe
    from pipeline.probe import probe_paths

    assets = probe_paths([path])
    done = record_probe(assets, catalog=cat, known_only=True)
    failed = [a for a in assets if a.error]
    console.print(f"{esc(path)}: probe facts recorded for {done.clips} clips", highlight=False)
    for a in failed:
        err_console.print(f"[yellow]not probed:[/] {esc(a.path)}: {esc(a.error)}", highlight=False)


@catalog_app.command("export")
@user_errors
def export_cmd(
    ale: Path | None = typer.Option(None, "--ale", help="Write an Avid ALE here."),
    csv_out: Path | None = typer.Option(None, "--csv", help="Write a CSV here."),
    otio_out: Path | None = typer.Option(None, "--otio", help="Write OpenTimelineIO here."),
    query: str = typer.Option("", "--query", "-q", help="Only the clips this search finds."),
    force: bool = typer.Option(False, "--force", help="Replace existing output files."),
    catalog: str | None = typer.Option(None, "--catalog", help=CATALOG_HELP),
) -> None:
    """Hand the catalogue to editorial: ALE (Avid), CSV, OpenTimelineIO."""
    from pipeline.catalog import export
    from pipeline.catalog.db import open_catalog
    from pipeline.catalog.search import every_hit

    outs = {k: v for k, v in (("ale", ale), ("csv", csv_out), ("otio", otio_out)) if v}
    if not outs:
        raise fail(
            "say what to write: --ale OUT.ale, --csv OUT.csv or --otio OUT.otio",
            exitcodes.ERROR,
        )
    if "otio" in outs and not export.otio_available():
        raise fail("OpenTimelineIO is not installed (pip install opentimelineio)")
    for out in outs.values():
        if out.exists() and not force:
            raise fail(f"{out} exists; choose another name or add --force")
    hits = every_hit(open_catalog(catalog), query)
    makers = {"ale": export.ale_text, "csv": export.csv_text, "otio": export.otio_text}
    for kind, out in outs.items():
        export.write_export(makers[kind](hits), out, overwrite=force)
        console.print(f"{kind.upper()}: {len(hits)} clips -> {esc(out)}", highlight=False)


def register(app: typer.Typer) -> None:
    """Add `rushline catalog ...`."""
    app.add_typer(catalog_app, name="catalog")
