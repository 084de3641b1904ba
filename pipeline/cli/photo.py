"""`rushline photo ...`: exports with presets (here) and the review side (photo_review)."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table

from pipeline import exitcodes
from pipeline.cli import cluster as cluster_cli
from pipeline.cli._common import console, esc, user_errors, write_json
from pipeline.cli.photo_review import LABEL, MIN_RATING, PICKED
from pipeline.errors import UserInputError


def register(app: typer.Typer) -> None:
    photo_app = typer.Typer(
        help="Photo commissions: export presets (web, print, social, library), culling, "
        "contact sheets, portfolio.",
        no_args_is_help=True,
    )
    app.add_typer(photo_app, name="photo")
    photo_app.command("export")(export_cmd)
    from pipeline.cli import photo_review

    photo_review.register(photo_app)


def _sources(paths: list[Path]) -> list[Path]:
    """Files named, and pictures in folders named (sidecars, hidden files and MHL skipped)."""
    from pipeline.photo.develop import PILLOW_SUFFIXES, RAW_SUFFIXES
    from pipeline.rights.apply import iter_files

    out = []
    for p in paths:
        if p.is_dir():
            out += [
                f for f in iter_files([p]) if f.suffix.lower() in RAW_SUFFIXES | PILLOW_SUFFIXES
            ]
        else:
            out.append(p)
    return out


@user_errors
def export_cmd(
    sources: list[Path] = typer.Argument(..., help="Pictures (RAW, JPEG, TIFF) or folders."),
    preset: str = typer.Option(..., "--preset", "-p", help="Preset name or .yaml path."),
    rights: str | None = typer.Option(None, "--rights", help="Rights template to embed."),
    out: Path = typer.Option(Path("export"), "--out", "-o", help="Delivery folder."),
    min_rating: int | None = MIN_RATING,
    label: str | None = LABEL,
    picked: bool = PICKED,
    force: bool = typer.Option(False, "--force", help="Replace exports that exist."),
    workers: int | None = typer.Option(None, "--workers", help="Processes (default: cores)."),
    json_out: Path | None = typer.Option(None, "--json", help="Write results as JSON ('-')."),
    cluster: str | None = cluster_cli.cluster_option(),
) -> None:
    """Develop and export pictures at a preset's exact specification, rights embedded."""
    from pipeline.photo.batch import export_batch, write_manifest
    from pipeline.photo.presets import load_preset
    from pipeline.rights.template import load_template

    if json_out is not None and str(json_out) != "-" and json_out.exists() and not force:
        raise UserInputError(f"{json_out} exists already; not overwriting it", hint="--force")
    p = load_preset(preset)
    tpl = load_template(rights) if rights else None
    files = _sources(sources)
    if min_rating is not None or label or picked:
        from pipeline.photo.picks import select

        files = select(files, min_rating=min_rating, label=label, picked=picked)
    if not files:
        raise UserInputError("no picture to export (check the paths and the selection)")
    if cluster is not None:  # one task per picture on the Dask cluster
        results = cluster_cli.export(cluster, files, p, out, template=tpl, force=force)
    else:
        results = export_batch(files, p, out, template=tpl, force=force, workers=workers)
    manifest = write_manifest(out, results)
    if json_out is not None:
        write_json([r.model_dump() for r in results], json_out, overwrite=force)
    if json_out is None or str(json_out) != "-":
        _print(results, manifest)
    if any(r.status == "error" for r in results):
        raise typer.Exit(exitcodes.FAILED)


def _print(results: list, manifest: Path | None) -> None:
    table = Table("source", "result", "size", "notes")
    for r in results:
        if r.status == "error":
            table.add_row(esc(r.source), "[red]error[/]", "", esc(r.error or ""))
            continue
        notes = [*r.notes]
        if r.not_applied:
            notes.append("sidecar NOT applied: " + ", ".join(r.not_applied))
        if r.rights_not_written:
            notes.append("rights NOT written: " + ", ".join(r.rights_not_written))
        table.add_row(
            esc(r.source),
            f"{esc(Path(r.output or '').name)}",
            f"{r.width}x{r.height} {esc(r.colour_space)} {r.bit_depth}-bit",
            esc("\n".join(notes)),
        )
    console.print(table)
    ok = sum(r.status == "exported" for r in results)
    line = f"{ok} exported, {len(results) - ok} failed"
    if manifest is not None:
        line += f"; checksums in {esc(manifest)}"
    console.print(line)
