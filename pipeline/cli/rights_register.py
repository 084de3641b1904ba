"""`rushline rights register import FILE` and `rushline rights report --out DIR`: the rights
register of external sources and the end-of-production rights statement.

Thin: parse, call `pipeline.rights.register` / `statement`, print. Added to the `rights` group
by `register(rights_app)`. Every user string goes through `esc()`.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import typer

from pipeline.cli._common import console, esc, user_errors
from pipeline.errors import UserInputError

CATALOG_HELP = "Catalogue file or SQLAlchemy URL (default: $RUSHLINE_CATALOG, else data folder)."

register_app = typer.Typer(
    help="The rights register of external sources (music cues, archive footage, stills).",
    no_args_is_help=True,
)


@register_app.command("import")
@user_errors
def import_cmd(
    file: Path = typer.Argument(..., help="Register as CSV or YAML (.yaml/.yml)."),
    catalog: str | None = typer.Option(None, "--catalog", help=CATALOG_HELP),
) -> None:
    """Validate a register file strictly and store it in the catalogue (whole or not at all)."""
    from pipeline.rights.register import import_register

    n = import_register(file, catalog=catalog)
    console.print(f"[green]imported[/] {n} register entries from {esc(file)}", highlight=False)


def _as_of(value: str | None) -> dt.date | None:
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise UserInputError(f"--as-of {value!r} is not a date: use YYYY-MM-DD") from None


@user_errors
def report_cmd(
    out: Path = typer.Option(..., "--out", help="Folder for rights-statement.json/.csv/.pdf."),
    expiring_within: int = typer.Option(
        90, "--expiring-within", min=0, help="Flag licences ending within DAYS of --as-of."
    ),
    as_of: str | None = typer.Option(None, "--as-of", help="Statement date YYYY-MM-DD (today)."),
    production: str | None = typer.Option(None, "--production", help="Title on the statement."),
    no_files: bool = typer.Option(
        False, "--no-files", help="Do not read provenance from the files (templates only)."
    ),
    force: bool = typer.Option(False, "--force", help="Replace an existing statement."),
    catalog: str | None = typer.Option(None, "--catalog", help=CATALOG_HELP),
) -> None:
    """The end-of-production rights statement: own material and external sources, flagging
    uncleared, expired, expiring and AI-generated or AI-composited material."""
    from pipeline.rights.statement import build_statement, output_paths, write_statement

    day = _as_of(as_of)
    taken = [p for p in output_paths(out) if p.exists()]
    if taken and not force:
        raise UserInputError(f"{taken[0]} exists already; not overwriting it (use --force)")
    st = build_statement(
        catalog=catalog,
        as_of=day,
        expiring_within=expiring_within,
        read_files=not no_files,
        production=production,
    )
    paths = write_statement(st, out, overwrite=force)
    c = st.counts
    console.print(
        f"{c['items']} items ({c['own']} own, {c['external']} external): "
        f"[red]{c['uncleared']} uncleared[/], [red]{c['expired']} expired[/], "
        f"[yellow]{c['expiring']} expiring[/], {c['ai-generated']} AI-generated, "
        f"{c['ai-composited']} AI-composited",
        highlight=False,
    )
    for item in st.items:
        if item.flags:
            console.print(f"  {esc(item.ref)}: {esc(', '.join(item.flags))}", highlight=False)
    for p in paths:
        console.print(f"wrote {esc(p)}", highlight=False)


def register(rights_app: typer.Typer) -> None:
    """Add `register import` and `report` to the `rights` group."""
    rights_app.add_typer(register_app, name="register")
    rights_app.command("report")(report_cmd)
