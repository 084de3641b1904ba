"""`rushline probe PATH...`: what each file on a card is, as a table or JSON."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table

from pipeline.assets import Asset
from pipeline.cli._common import console, err_console, user_errors, write_json


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
    ) -> None:
        """Say what each file is: container, codecs, picture, sound, timecode, camera, exposure.

        Exit 0 when every file was read, 1 when some could not be read (each is listed).
        """
        from pipeline.probe import probe_paths

        missing = [p for p in paths if not p.exists()]
        for p in missing:
            err_console.print(f"[red]error:[/] {p}: no such file or folder", highlight=False)
        assets = probe_paths([p for p in paths if p.exists()])
        failed = [a for a in assets if a.error]
        if json_out or output:
            write_json([a.model_dump(mode="json") for a in assets], output)
        if not json_out:
            table = Table(title=f"{len(assets)} files", show_lines=False, expand=True)
            for col in ("file", "kind", "duration", "format", "picture", "sound", "details"):
                table.add_column(col, overflow="fold")
            shown = 0
            for a in assets:
                if not all_files and a.kind in ("sidecar", "other") and not a.error:
                    continue
                shown += 1
                name = a.path
                if a.error:
                    table.add_row(name, a.kind, "", "", "", "", f"[red]{a.error}[/]")
                    continue
                codec, picture, sound, extra = _fmt_av(a)
                dur = f"{a.duration_s:.2f} s" if a.duration_s is not None else ""
                fmt = " / ".join(x for x in (a.container, codec) if x)
                if a.ai and a.ai.flags:
                    flags = "; ".join(a.ai.flags)
                    extra = (
                        f"{extra} [bold magenta]{flags}[/]"
                        if extra
                        else f"[bold magenta]{flags}[/]"
                    )
                notes = "; ".join(a.notes)
                if notes:
                    extra = f"{extra} [yellow]{notes}[/]" if extra else f"[yellow]{notes}[/]"
                table.add_row(name, a.kind, dur, fmt, picture, sound, extra)
            console.print(table)
            hidden = len(assets) - shown
            if hidden:
                console.print(f"[dim]{hidden} sidecar/other files not shown (--all shows them)[/]")
        if failed:
            err_console.print(
                f"[red]{len(failed)} of {len(assets)} files could not be read[/] (see above)"
            )
        if failed or missing:
            raise typer.Exit(1)
