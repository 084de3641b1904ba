"""`rushline dailies CLIP_OR_FOLDER... --out DIR`: one proxy per camera clip, for editorial.

Exit 0 when every proxy was made (or exists already and was skipped), 1 when a clip failed
(the others are still made), 2 for bad arguments (checked before any work starts).
"""

from __future__ import annotations

import os
from enum import StrEnum
from pathlib import Path

import typer
from rich.progress import BarColumn, Progress, TaskID, TextColumn, TimeRemainingColumn
from rich.table import Table

from pipeline import exitcodes
from pipeline.cli._common import console, err_console, esc, user_errors

STATUS_STYLE = {"made": "green", "skipped": "yellow", "failed": "bold red"}


class CodecChoice(StrEnum):
    h264 = "h264"
    prores_proxy = "prores-proxy"


class _Bars:
    """A rich progress bar per clip, fed by the core's Observer calls."""

    def __init__(self, bar: Progress) -> None:
        self.bar = bar
        self.task: TaskID | None = None

    def start(self, clip: Path, seconds: float | None) -> None:
        self.task = self.bar.add_task(esc(clip.name), total=max(seconds or 0.0, 0.1))

    def advance(self, seconds: float) -> None:
        if self.task is not None:
            self.bar.update(self.task, completed=seconds)

    def done(self, proxy) -> None:  # type: ignore[no-untyped-def]
        if self.task is not None and proxy.status == "made":
            self.bar.update(self.task, completed=self.bar.tasks[self.task].total)
        self.task = None
        if proxy.status == "failed":
            name = esc(Path(proxy.source).name)
            err_console.print(f"[bold red]error:[/] {name}: {esc(proxy.error)}", highlight=False)


def _table(proxies, out: Path) -> Table:  # type: ignore[no-untyped-def]
    table = Table(title=f"Dailies in {esc(out)}")
    for col in ("Clip", "Proxy", "Status", "Timecode", "Reel", "Note"):
        table.add_column(col, overflow="fold")
    for p in proxies:
        style = STATUS_STYLE.get(p.status, "")
        shown = os.path.relpath(p.output, out)
        table.add_row(
            esc(Path(p.source).name),
            esc(shown) if p.status != "failed" else "—",
            f"[{style}]{p.status}[/]",
            esc(p.start_timecode or "—") + (" DF" if p.drop_frame else ""),
            esc(p.reel or "—"),
            esc(p.error or "; ".join(p.notes)),
        )
    return table


def register(app: typer.Typer) -> None:
    """Add `rushline dailies`."""

    @app.command()
    @user_errors
    def dailies(
        paths: list[Path] = typer.Argument(
            ..., help="Camera clips, or cards/folders searched recursively for clips."
        ),
        out: Path = typer.Option(..., "--out", "-o", help="Folder for the proxies."),
        lut: Path | None = typer.Option(
            None, "--lut", help="Show LUT (.cube), applied before the burn-in."
        ),
        codec: CodecChoice = typer.Option(
            CodecChoice.h264, "--codec", help="h264 (MP4) or prores-proxy (MOV)."
        ),
        height: int = typer.Option(540, "--height", help="Picture height in lines (even)."),
        force: bool = typer.Option(False, "--force", help="Replace proxies that exist."),
        no_burn_in: bool = typer.Option(
            False, "--no-burn-in", help="No timecode, clip name and reel in the picture."
        ),
    ) -> None:
        """Make dailies: a small proxy per clip with burnt-in source timecode, clip name and
        reel, an optional show LUT, and the source timecode in the file (relinks in the NLE)."""
        from pipeline.deliver.dailies import DailiesOptions, make_dailies

        opts = DailiesOptions(
            out_dir=out,
            codec=codec.value,  # type: ignore[arg-type]
            height=height,
            lut=lut,
            force=force,
            burn_in=not no_burn_in,
        )
        columns = (TextColumn("{task.description}"), BarColumn(), TimeRemainingColumn())
        with Progress(*columns, console=err_console) as bar:
            proxies = make_dailies(paths, opts, _Bars(bar))
        console.print(_table(proxies, out))
        if any(p.status == "failed" for p in proxies):
            raise typer.Exit(exitcodes.FAILED)
