"""`rushline profiles`: list the delivery profiles, show one resolved, check a user's file."""

from __future__ import annotations

import json
import re
from pathlib import Path

import typer
import yaml
from rich.table import Table

from pipeline.cli._common import console, err_console, esc, user_errors, write_json
from pipeline.errors import ProfileError
from pipeline.profiles import (
    ProfileEntry,
    bundled_dir,
    format_summary,
    list_profiles,
    load_profile,
    load_profile_file,
    loudness_summary,
    user_dirs,
)

profiles_app = typer.Typer(
    help="Delivery profiles: list them, show one, check a profile file you wrote.",
    invoke_without_command=True,
    no_args_is_help=False,
)


def _entry_json(e: ProfileEntry) -> dict:
    data: dict = {
        "name": e.name,
        "path": str(e.path),
        "origin": e.origin,
        "overrides": e.overrides,
    }
    if e.profile is not None:
        p = e.profile
        data |= {
            "kind": p.kind,
            "title": p.title,
            "summary": p.summary,
            "loudness": loudness_summary(p.loudness),
            "format": format_summary(p.format, p.programme),
            "source": p.source.document,
            "uncertain": len(p.source.uncertain),
        }
    else:
        data["error"] = e.error
    return data


def _short_source(document: str, uncertain: int) -> str:
    """The document's short name ('EBU R 128', 'CST-RT-040') and how many values are unsure."""
    short = re.split(r" - |: |; | \(| and ", document, maxsplit=1)[0].strip()
    if len(short) > 40:
        short = short[:39].rstrip() + "…"
    return f"{short} ({uncertain} uncertain)" if uncertain else short


@profiles_app.callback()
@user_errors
def profiles_list(
    ctx: typer.Context,
    as_json: bool = typer.Option(False, "--json", help="Print the list as JSON."),
) -> None:
    """List bundled and user profiles: name, kind, loudness target and true peak, format."""
    if ctx.invoked_subcommand is not None:
        return
    entries = list_profiles()
    if as_json:
        write_json([_entry_json(e) for e in entries], None)
        return
    _print_list(entries)


def _lines(text: str) -> str:
    """A multi-line message (a profile with several mistakes) escaped line by line."""
    return "\n".join(esc(line) for line in text.splitlines()) or esc(text)


def _print_list(entries: list[ProfileEntry]) -> None:
    table = Table(title="Delivery profiles", show_lines=False, expand=False)
    table.add_column("name", style="bold cyan", no_wrap=True)
    table.add_column("kind")
    table.add_column("loudness")
    table.add_column("format")
    table.add_column("source")
    table.add_column("from", no_wrap=True)
    for e in entries:
        origin = "user (overrides)" if e.overrides else e.origin
        if e.profile is None:
            first = (e.error or "").splitlines()[0] if e.error else "invalid"
            table.add_row(esc(e.name), "—", "[red]invalid[/]", f"[red]{esc(first)}[/]", "", origin)
            continue
        p = e.profile
        table.add_row(
            esc(e.name),
            esc(p.kind),
            esc(loudness_summary(p.loudness)),
            esc(format_summary(p.format, p.programme)),
            esc(_short_source(p.source.document, len(p.source.uncertain))),
            esc(origin),
        )
    console.print(table, highlight=False)
    folders = ", ".join(str(d) for d in user_dirs())
    console.print(
        f"[dim]user folder(s): {esc(folders)} (override bundled: {esc(bundled_dir())})."
        " `rushline profiles show NAME` prints one in full.[/]",
        highlight=False,
    )
    for e in entries:
        if e.error:
            err_console.print(f"[bold red]invalid profile:[/] {_lines(e.error)}", highlight=False)


@profiles_app.command("show")
@user_errors
def profiles_show(
    name: str = typer.Argument(..., help="Profile name (or path to a YAML file)."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of YAML."),
) -> None:
    """Print a profile resolved: every value, defaults included, and where it came from."""
    profile = load_profile(name)
    data = profile.model_dump(mode="json")
    if as_json:
        write_json(data, None)
        return
    origin = next((e for e in list_profiles() if e.name == profile.name), None)
    if origin is not None and not Path(name).suffix:
        flag = ", overrides bundled" if origin.overrides else ""
        typer.echo(f"# {profile.name}: {origin.origin} profile {origin.path}{flag}")
    typer.echo(yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=4096), nl=False)


@profiles_app.command("check")
@user_errors
def profiles_check(
    files: list[Path] = typer.Argument(..., help="Profile YAML file(s) to validate."),
    as_json: bool = typer.Option(False, "--json", help="Print the results as JSON."),
) -> None:
    """Validate profile files; each error names the file, line and key. Exit 2 if any is bad."""
    results = []
    bad = 0
    for f in files:
        try:
            p = load_profile_file(f)
        except ProfileError as exc:
            bad += 1
            results.append({"file": str(f), "ok": False, "error": str(exc)})
            if not as_json:
                err_console.print(f"[bold red]error:[/] {_lines(str(exc))}", highlight=False)
            continue
        results.append({"file": str(f), "ok": True, "name": p.name})
        if not as_json:
            console.print(
                f"[green]ok[/] {esc(f)}: {esc(p.name)} — "
                f"{esc(loudness_summary(p.loudness))}; "
                f"{esc(format_summary(p.format, p.programme))}",
                highlight=False,
            )
    if as_json:
        typer.echo(json.dumps(results, indent=2, ensure_ascii=False))
    if bad:
        raise typer.Exit(2)


def register(app: typer.Typer) -> None:
    """Add this room's commands to the main app."""
    app.add_typer(profiles_app, name="profiles")
