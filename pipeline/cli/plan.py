"""`rushline plan storage|codecs|status`: size a shoot before it starts, then watch it."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table

from pipeline import exitcodes
from pipeline.cli._common import console, err_console, esc, fail, user_errors, write_json

TB = 10**12


def _print_plan(plan) -> None:  # noqa: ANN001 - Plan
    console.print(
        f"[bold]{esc(plan.codec)}[/] {plan.width}x{plan.height} {plan.fps:g} fps: "
        f"{plan.mbps:g} Mbit/s ({esc(plan.rate_status)}); {plan.cameras} camera(s), "
        f"{plan.hours_per_day:g} h/day, {plan.days} day(s), margin {plan.margin:.0%}",
        highlight=False,
    )
    console.print(
        f"  per day {plan.bytes_per_day / TB:.2f} TB · shoot {plan.bytes_total / TB:.2f} TB · "
        f"per destination {plan.bytes_per_destination / TB:.2f} TB · {plan.copies} copies "
        f"{plan.bytes_all_copies / TB:.2f} TB",
        highlight=False,
    )
    if plan.footprints:
        t = Table(title=f"keeping one copy {plan.retention_years:g} years")
        for col in ("storage", "kWh", "kg CO2e", "basis"):
            t.add_column(col)
        for f in plan.footprints:
            kwh = f"{f.kwh:.1f}" if f.kwh is not None else "—"
            t.add_row(esc(f.label), kwh, f"{f.kgco2e:.1f}", esc(f.status))
        console.print(t)


plan_app = typer.Typer(help="Storage planning from codec data rates.", no_args_is_help=True)


@plan_app.command("storage")
@user_errors
def storage_cmd(
    codec: list[str] = typer.Option(..., "--codec", help="Codec name (repeat to compare)."),
    resolution: str = typer.Option(..., "--resolution", help="WxH, e.g. 3840x2160."),
    fps: float = typer.Option(..., "--fps", help="Frame rate, e.g. 23.976."),
    hours: float = typer.Option(..., "--hours", help="Hours recorded per camera per day."),
    days: int = typer.Option(1, "--days", min=1),
    copies: int = typer.Option(2, "--copies", min=1, help="Destinations per offload."),
    cameras: int = typer.Option(1, "--cameras", min=1),
    margin: float = typer.Option(0.2, "--margin", min=0, help="Safety margin (0.2 = 20 %)."),
    retention: float = typer.Option(0, "--retention-years", min=0, help="Footprint period."),
    capacity: float | None = typer.Option(None, "--capacity-tb", help="Each destination."),
    grid: float | None = typer.Option(None, "--grid-factor", help="kg CO2e per kWh."),
    json_out: bool = typer.Option(False, "--json", help="Print JSON."),
    save: Path | None = typer.Option(None, "--save", help="Save the (first) plan as JSON."),
    force: bool = typer.Option(False, "--force", help="Replace an existing --save file."),
) -> None:
    """Size a shoot: per day, for the shoot, per destination; codecs side by side."""
    from pipeline.plan.storage import plan_storage, save_plan

    if save and save.exists() and not force:
        raise fail(f"{save} exists; choose another name or add --force")
    plans = [
        plan_storage(
            c,
            resolution=resolution,
            fps=fps,
            hours=hours,
            days=days,
            copies=copies,
            cameras=cameras,
            margin=margin,
            retention_years=retention,
            capacity_tb=capacity,
            grid=grid,
        )
        for c in codec
    ]
    if save:
        save_plan(plans[0], save, overwrite=force)
    if json_out:
        write_json([p.model_dump(mode="json") for p in plans], None)
        return
    for p in plans:
        _print_plan(p)


@plan_app.command("codecs")
@user_errors
def codecs_cmd(json_out: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """The codec data rates we plan with, and where each number comes from."""
    from pipeline.plan.storage import codecs, sources

    table, srcs = codecs(), sources()
    if json_out:
        write_json({"codecs": {k: v.model_dump() for k, v in table.items()}, "sources": srcs}, None)
        return
    t = Table(expand=True)
    for col in ("codec", "family", "Mbit/s", "at", "basis", "source"):
        t.add_column(col, overflow="fold")
    for c in table.values():
        src = srcs.get(c.source or "", {}).get("title", "") if c.source else ""
        basis = c.status + (f": {c.how}" if c.how else "")
        t.add_row(
            c.name,
            c.family,
            f"{c.mbps:g}",
            f"{c.width}x{c.height} {c.fps:g}",
            esc(basis),
            esc(src),
        )
    console.print(t)


@plan_app.command("status")
@user_errors
def status_cmd(
    plan_file: Path = typer.Argument(..., help="A plan saved by `plan storage --save`."),
    json_out: bool = typer.Option(False, "--json", help="Print JSON."),
    catalog: str | None = typer.Option(None, "--catalog", help="Catalogue file or URL."),
) -> None:
    """Compare a plan with what the catalogue says was shot. Exit 1 when a warning shows."""
    from pipeline.catalog.db import open_catalog
    from pipeline.plan.status import plan_status
    from pipeline.plan.storage import load_plan

    st = plan_status(load_plan(plan_file), open_catalog(catalog))
    if json_out:
        write_json(st.model_dump(mode="json"), None)
    else:
        console.print(
            f"{st.days_shot} day(s) shot, {st.bytes_shot / TB:.2f} TB of "
            f"{st.bytes_planned / TB:.2f} TB planned",
            highlight=False,
        )
        for v in st.volumes:
            console.print(
                f"  {esc(v.volume)}: {v.used_bytes / TB:.3f} TB used, "
                f"{v.projected_bytes / TB:.3f} TB projected",
                highlight=False,
            )
    for w in st.warnings:
        err_console.print(f"[yellow]warning:[/] {esc(w)}", highlight=False)
    if st.warnings:
        raise typer.Exit(exitcodes.FAILED)


def register(app: typer.Typer) -> None:
    """Add `rushline plan ...`."""
    app.add_typer(plan_app, name="plan")
