"""`rushline deliver MASTER... --profile NAME`: make deliverables, QC them, let only passes go.

Exit 0 when every deliverable was made and passed QC, 1 when one failed QC (it is in
`_failed/` with its report), 2 when a master could not be delivered (the message says why).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from pipeline import exitcodes
from pipeline.cli import cluster as cluster_cli
from pipeline.cli._common import console, esc, fail, user_errors

if TYPE_CHECKING:
    from pipeline.deliver.run import DeliveryNote, Options
    from pipeline.profiles import Profile

STATUS_STYLE = {"delivered": "green", "failed": "red", "error": "bold red"}


def _table(note) -> Table:  # type: ignore[no-untyped-def]
    table = Table(title=f"Delivery to {esc(note.out_dir)}")
    for col in ("Master", "Profile", "Deliverable", "Status", "QC", "Loudness", "Note"):
        table.add_column(col, overflow="fold")
    for d in note.deliverables:
        il = d.measured.get("integrated_lufs")
        style = STATUS_STYLE.get(d.status, "")
        table.add_row(
            esc(Path(d.master).name),
            esc(d.profile),
            esc(Path(d.output).name) if d.output else "—",
            f"[{style}]{d.status}[/]",
            esc(d.qc_verdict or "—"),
            f"{il:.1f} LUFS" if il is not None else "—",
            esc(d.error or "; ".join(d.notes)),
        )
    return table


def register(app: typer.Typer) -> None:
    """Add `rushline deliver`."""

    @app.command()
    @user_errors
    def deliver(
        masters: list[Path] = typer.Argument(..., help="Programme masters to deliver."),
        profile: list[str] = typer.Option(
            ..., "--profile", "-p", help="Profile name or YAML path (repeat for several)."
        ),
        out: Path = typer.Option(Path("delivery"), "--out", "-o", help="Delivery folder."),
        conform: bool = typer.Option(
            False, "--conform", help="Convert the frame rate when the master's differs."
        ),
        rights: str | None = typer.Option(None, "--rights", help="Rights template to embed."),
        force: bool = typer.Option(False, "--force", help="Replace deliverables that exist."),
        title: str | None = typer.Option(None, "--title", help="Title on the slate and name."),
        version: str = typer.Option("V1", "--version", help="Version on the slate and name."),
        no_head: bool = typer.Option(
            False, "--no-head", help="No bars/slate/black: the master has its own line-up."
        ),
        cluster: str | None = cluster_cli.cluster_option(),
    ) -> None:
        """Make each profile's deliverable from each master; QC it; deliver only what passes."""
        from pipeline.deliver.run import Options
        from pipeline.profiles import load_profile
        from pipeline.report.deliver import note_paths

        profiles = [load_profile(p) for p in profile]
        if not force:
            for existing in (p for p in note_paths(out) if p.exists()):
                raise fail(f"{existing} exists already; use --force or another --out")
        opts = Options(
            out_dir=out,
            conform=conform,
            force=force,
            title=title,
            version=version,
            head=None if no_head else "profile",
            rights_template=rights,
        )
        if cluster is not None:  # one task per deliverable on the Dask cluster
            note = cluster_cli.deliver(cluster, masters, profiles, opts)
        else:
            note = _deliver_here(masters, profiles, opts)
        console.print(_table(note))
        console.print(f"Delivery note: {esc(note_paths(out)[0])}")
        statuses = {d.status for d in note.deliverables}
        if "error" in statuses:
            raise typer.Exit(exitcodes.ERROR)
        if "failed" in statuses:
            raise typer.Exit(exitcodes.FAILED)


def _deliver_here(masters: list[Path], profiles: list[Profile], opts: Options) -> DeliveryNote:
    """The local run, with a progress bar per deliverable."""
    from pipeline.deliver.run import deliver as run_deliver

    with Progress(
        TextColumn("{task.description}"), BarColumn(), TimeRemainingColumn(), console=console
    ) as bar:
        state: dict[str, int] = {}

        def on_start(label: str, seconds: float) -> None:
            state["task"] = bar.add_task(esc(label), total=max(seconds, 0.1))

        def on_progress(done: float) -> None:
            if "task" in state:
                bar.update(state["task"], completed=done)

        return run_deliver(masters, profiles, opts, on_start=on_start, on_progress=on_progress)
