"""`rushline plan storage|codecs|status`: size a shoot before it starts, then watch it."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table
from rich.text import Text

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
        console.print(footprint_table(plan))
        for line in footprint_notes(plan):
            console.print(Text(line), highlight=False)


def footprint_table(plan) -> Table:  # noqa: ANN001 - Plan
    """One row per tier: copies kept, kWh, energy and embodied kg CO2e, total, and how many of
    its factors are sourced (the rest are assumptions, listed with --json)."""
    title = f"kg CO2e of keeping {plan.bytes_total / TB:.1f} TB for {plan.retention_years:g} years"
    t = Table(title=title)
    rows = []
    for f in plan.footprints:
        c = f.components
        n_src = sum(x.status in ("source", "derived") for x in f.factors)
        rows.append(
            [
                f"{f.copies:g}",
                f"{f.kwh:,.0f}",
                f"{c['energy_kgco2e']:,.0f}",
                f"{c['embodied_kgco2e']:,.0f}",
                f"{f.kgco2e:,.0f}",
                f"{n_src}/{len(f.factors)} src",
            ]
        )
    t.add_column("storage", overflow="fold")  # the label may wrap; numbers never shrink
    heads = ("copies", "kWh", "energy", "embodied", "total", "basis")
    for i, col in enumerate(heads):
        width = max(len(col), *(len(r[i]) for r in rows))
        t.add_column(col, justify="left" if col == "basis" else "right", min_width=width)
    for f, r in zip(plan.footprints, rows, strict=True):
        t.add_row(Text(f.label), *r)
    return t


def footprint_notes(plan) -> list[str]:  # noqa: ANN001 - Plan
    """The footnote: same scope for every tier, the grid, and the wider-scope reference."""
    g = plan.grid
    lines = [
        f"Scope, every tier: {plan.footprint_scope}.",
        f"Grid: {g.label}, {g.factor.value:g} kg CO2e/kWh ({g.factor.status}"
        + (f": {g.factor.source}" if g.factor.source else "")
        + "); --grid eu|fr or --grid-factor N to change it.",
    ]
    for f in plan.footprints:
        ref = f.reference
        if ref:
            lines.append(
                f"For comparison ({f.label}): {ref['kgco2e_per_tb_year']:g} kg CO2e per TB-year, "
                f"{ref['note']}."
            )
    lines.append("Every factor, its source or the reasoning behind an assumption: --json.")
    return lines


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
    grid: str | None = typer.Option(None, "--grid", help="Grid factor by name: fr, eu."),
    grid_factor: float | None = typer.Option(None, "--grid-factor", help="kg CO2e per kWh."),
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
            grid_name=grid,
            grid_factor=grid_factor,
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
def codecs_cmd(
    json_out: bool = typer.Option(False, "--json", help="Print JSON."),
    show_how: bool = typer.Option(False, "--sources", help="Also say how each rate was derived."),
) -> None:
    """The codec data rates we plan with; sources as numbered footnotes."""
    from pipeline.plan.storage import codecs, sources

    table, srcs = codecs(), sources()
    if json_out:
        write_json({"codecs": {k: v.model_dump() for k, v in table.items()}, "sources": srcs}, None)
        return
    t, notes = codecs_table(table, srcs)
    console.print(t)
    for n, key in enumerate(notes, 1):
        console.print(Text(f"[{n}] {srcs[key]['title']} {srcs[key].get('url', '')}"))
    if show_how:
        for c in table.values():
            if c.how:
                console.print(Text(f"{c.name}: {c.how}"))


def codecs_table(table, srcs) -> tuple[Table, list[str]]:  # noqa: ANN001 - dicts of the data file
    """A compact table (one line per codec) and the source keys its [n] markers point to."""
    notes: list[str] = []
    t = Table()
    for col in ("codec", "family", "Mbit/s", "at", "basis"):
        t.add_column(col, no_wrap=True, justify="right" if col == "Mbit/s" else "left")
    for c in table.values():
        basis = c.status
        if c.source in srcs:
            if c.source not in notes:
                notes.append(c.source)
            basis += f" [{notes.index(c.source) + 1}]"
        at = f"{c.width}x{c.height} {c.fps:g}"
        t.add_row(Text(c.name), Text(c.family), f"{c.mbps:g}", at, Text(basis))
    return t, notes


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
