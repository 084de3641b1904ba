"""`rushline probe PATH...`: what each file on a card is, as a table or JSON."""

from __future__ import annotations

import os
from pathlib import Path

import typer
from rich.table import Table

from pipeline import exitcodes
from pipeline.assets import Asset
from pipeline.cli._common import console, err_console, esc, user_errors, write_json
from pipeline.cli.catalog import NO_CATALOG_HELP, catalog_warning


def _fmt_av(a: Asset) -> tuple[str, str, str, str]:
    v = a.video[0] if a.video else None
    codec = ", ".join(
        x
        for x in (
            v and " ".join(p for p in (v.codec, v.codec_profile) if p),
            ", ".join(sorted({au.codec or "?" for au in a.audio})) if a.audio else None,
        )
        if x
    )
    if v:
        scan = {"interlaced": "i", "progressive": "p"}.get(v.scan_type or "", "")
        order = f" {v.field_order.upper()}" if v.field_order else ""
        fr = f"{v.frame_rate:g}" if v.frame_rate else "?"
        picture = f"{v.width}×{v.height} {fr}{scan}{order}"
        if v.colour_primaries:
            picture += f" {v.colour_primaries}"
    elif a.photo:
        picture = f"{a.photo.width}×{a.photo.height}" if a.photo.width else ""
    else:
        picture = ""
    if a.audio:
        au = a.audio[0]
        bits = f"/{au.bit_depth}" if au.bit_depth else ""
        khz = f"{au.sample_rate / 1000:g}k" if au.sample_rate else "?"
        sound = f"{a.audio_channels} ch {khz}{bits}"
        if len(a.audio) > 1:
            sound += f" ({len(a.audio)} tracks)"
    else:
        sound = ""
    if a.photo:
        p = a.photo
        bits = [
            a.camera,
            p.lens,
            f"ISO {p.iso}" if p.iso else None,
            p.shutter and f"{p.shutter}s",
            p.aperture and f"f/{p.aperture:g}",
            p.captured,
        ]
        extra = " · ".join(str(b) for b in bits if b)
    else:
        bits = [
            a.start_timecode and f"TC {a.start_timecode}",
            a.reel and f"reel {a.reel}",
            a.camera,
            a.bwf_originator,
        ]
        extra = " · ".join(str(b) for b in bits if b)
    return codec, picture, sound, extra


def _row(a: Asset) -> list[str]:
    """One table row, every cell escaped: names, codecs and camera fields come from files."""
    if a.error:
        return [esc(a.path), esc(a.kind), "", "", "", "", f"[red]{esc(a.error)}[/]"]
    codec, picture, sound, extra = _fmt_av(a)
    dur = f"{a.duration_s:.2f} s" if a.duration_s is not None else ""
    fmt = " / ".join(x for x in (a.container, codec) if x)
    marks = [esc(extra)] if extra else []
    if a.ai and a.ai.flags:
        marks.append(f"[bold magenta]{esc('; '.join(a.ai.flags))}[/]")
    if a.notes:
        marks.append(f"[yellow]{esc('; '.join(a.notes))}[/]")
    cells = (a.path, a.kind, dur, fmt, picture, sound)
    return [*(esc(c) for c in cells), " ".join(marks)]


def _print_table(assets: list[Asset], *, all_files: bool) -> None:
    table = Table(title=f"{len(assets)} files", show_lines=False, expand=True)
    for col in ("file", "kind", "duration", "format", "picture", "sound", "details"):
        table.add_column(col, overflow="fold")
    shown = [a for a in assets if all_files or a.error or a.kind not in ("sidecar", "other")]
    for a in shown:
        table.add_row(*_row(a))
    console.print(table, highlight=False)
    hidden = len(assets) - len(shown)
    if hidden:
        console.print(f"[dim]{hidden} sidecar/other files not shown (--all shows them)[/]")


def register(app: typer.Typer) -> None:
    @app.command()
    @user_errors
    def probe(
        paths: list[Path] = typer.Argument(..., help="Files or folders (searched recursively)."),
        json_out: bool = typer.Option(False, "--json", help="Print JSON instead of a table."),
        output: Path | None = typer.Option(None, "--output", "-o", help="Write JSON to a file."),
        all_files: bool = typer.Option(
            False, "--all", help="Also list sidecars and other files in the table."
        ),
        no_catalog: bool = typer.Option(False, "--no-catalog", help=NO_CATALOG_HELP),
        no_cache: bool = typer.Option(
            False, "--no-cache", help="Read every file again, even unchanged ones in the cache."
        ),
    ) -> None:
        """Say what each file is: container, codecs, picture, sound, timecode, camera, exposure.

        Exit 0 when every file was read, 1 when some could not be read (each is listed).
        """
        from pipeline.cache import probe_paths_cached
        from pipeline.catalog.hooks import probe_done

        # lexists: a dangling symlink is there (and probed as a per-file error), not missing.
        missing = [p for p in paths if not os.path.lexists(p)]
        for p in missing:
            err_console.print(f"[red]error:[/] {esc(p)}: no such file or folder", highlight=False)
        found = [p for p in paths if p not in missing]
        assets, cached = probe_paths_cached(found, cache=not no_cache)
        failed = [a for a in assets if a.error]
        if json_out or output:
            write_json([a.model_dump(mode="json") for a in assets], output)
        if not json_out:
            _print_table(assets, all_files=all_files)
        if cached:
            err_console.print(
                f"[dim]{cached} of {len(assets)} files answered from the cache (unchanged since "
                "they were probed; --no-cache reads them again)[/]"
            )
        catalog_warning(probe_done(assets, on=not no_catalog))
        if failed:
            err_console.print(
                f"[red]{len(failed)} of {len(assets)} files could not be read[/] (see above)"
            )
        if failed or missing:
            raise typer.Exit(exitcodes.FAILED)
