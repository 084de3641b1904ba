"""The `rushline` command: thin Typer commands that parse, call the core and print with rich.

Each room owns one module here with a `register(app)` function.
"""

from __future__ import annotations

import os

# Offline by default: no telemetry, even if a flow is started from this process.
os.environ.setdefault("DO_NOT_TRACK", "1")
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")

import typer  # noqa: E402

from pipeline.cli import (  # noqa: E402
    archive,
    catalog,
    dailies,
    deliver,
    offload,
    photo,
    plan,
    probe,
    profiles,
    qc,
    rights,
)
from pipeline.cli._common import setup_logging  # noqa: E402

app = typer.Typer(
    name="rushline",
    help="Media ingest and QC: verified offload (ASC MHL), probe, QC against delivery "
    "profiles, rights metadata.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


@app.callback()
def _root(
    verbose: bool = typer.Option(False, "--verbose", "-v", help="Log every command run."),
    debug: bool = typer.Option(False, "--debug", help="Show tracebacks in the log."),
) -> None:
    setup_logging(verbose=verbose, debug=debug)


for module in (
    probe,
    offload,
    qc,
    deliver,
    dailies,
    profiles,
    rights,
    photo,
    catalog,
    plan,
    archive,
):
    module.register(app)


def main() -> None:
    app()
