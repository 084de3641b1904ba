"""Shared CLI plumbing: consoles, logging, and turning RushlineError into a clean message."""

from __future__ import annotations

import functools
import json
import logging
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import typer
from rich.console import Console
from rich.logging import RichHandler

from pipeline.errors import RushlineError

console = Console()
# Error lines are never wrapped: logs and scripts grep them whole.
err_console = Console(stderr=True, soft_wrap=True)
log = logging.getLogger("rushline")

F = TypeVar("F", bound=Callable[..., Any])

_DEBUG = False


def setup_logging(*, verbose: bool = False, debug: bool = False) -> None:
    global _DEBUG
    _DEBUG = debug
    level = logging.DEBUG if debug else logging.INFO if verbose else logging.WARNING
    logging.basicConfig(
        level=level,
        format="%(message)s",
        handlers=[RichHandler(console=err_console, show_path=False, rich_tracebacks=debug)],
        force=True,
    )


def fail(message: str, code: int = 2) -> typer.Exit:
    """Print a one-line error for the user and return the Exit to raise."""
    err_console.print(f"[bold red]error:[/] {message}", highlight=False, markup=True)
    return typer.Exit(code)


def user_errors(func: F) -> F:
    """Turn a RushlineError into a short message and its exit code; traceback only in --debug."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except RushlineError as exc:
            if _DEBUG:
                log.exception("details")
            raise fail(str(exc), getattr(exc, "exit_code", 2)) from None
        except KeyboardInterrupt:
            raise fail("interrupted; run the same command again to finish the job", 130) from None

    return wrapper  # type: ignore[return-value]


def write_json(data: Any, out: Path | None) -> None:
    """Write JSON to a file (atomically) or to stdout when out is None or '-'."""
    text = json.dumps(data, indent=2, ensure_ascii=False, default=str)
    if out is None or str(out) == "-":
        sys.stdout.write(text + "\n")
        return
    from pipeline.fsutil import atomic_write_text

    atomic_write_text(out, text + "\n")
