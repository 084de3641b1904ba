"""Shared CLI plumbing: consoles, logging, and turning RushlineError into a clean message."""

from __future__ import annotations

import errno
import functools
import json
import logging
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click
import typer
from rich.console import Console
from rich.logging import RichHandler
from rich.markup import escape

from pipeline import exitcodes
from pipeline.errors import RushlineError
from pipeline.names import printable

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


def esc(value: object) -> str:
    """A user string (path, name, metadata, tool message) made safe to print through Rich.

    Brackets are escaped so `[/x]` in a file name is text, not markup, and control characters
    (a newline in a name) are shown as `\\n` so one file stays on one line.
    """
    return escape(printable(str(value)))


def fail(message: str, code: int = exitcodes.ERROR) -> typer.Exit:
    """Print a one-line error for the user (escaped here) and return the Exit to raise."""
    err_console.print(f"[bold red]error:[/] {esc(message)}", highlight=False)
    return typer.Exit(code)


def describe_os_error(exc: OSError) -> str:
    """'cannot write /Volumes/RAID/x: No space left on device', naming the file when known."""
    reason = exc.strerror or exc.__class__.__name__
    names = [n for n in (exc.filename, exc.filename2) if n is not None]
    where = " -> ".join(os.fsdecode(n) for n in names)
    hints = {
        errno.ENOSPC: "free some space or choose another destination, then run the command again",
        errno.EACCES: "check the permissions, or choose another folder",
        errno.EROFS: "the volume is read-only; choose another destination",
        errno.EIO: "the device reported a read/write error; check the card, drive or cable",
    }
    hint = hints.get(exc.errno or 0, "check the path and run the command again")
    return f"{where}: {reason} — {hint}" if where else f"{reason} — {hint}"


def user_errors(func: F) -> F:
    """The CLI's one error boundary: every command is wrapped in it (a test checks).

    A RushlineError or an OSError becomes one line and its exit code; Ctrl-C exits 130 after
    the core has cleaned up its temporary files; an unexpected exception is reported as a bug
    in one line. Tracebacks only with --debug.
    """

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except (typer.Exit, typer.Abort, click.ClickException):
            raise
        except RushlineError as exc:
            _log_details()
            raise fail(str(exc), getattr(exc, "exit_code", exitcodes.ERROR)) from None
        except OSError as exc:
            _log_details()
            raise fail(describe_os_error(exc), exitcodes.ERROR) from None
        except KeyboardInterrupt:
            raise fail(
                "interrupted; nothing half-written was left under a final name — run the same "
                "command again to finish the job",
                exitcodes.INTERRUPTED,
            ) from None
        except Exception as exc:
            _log_details()
            raise fail(
                f"internal error ({type(exc).__name__}: {exc}); this is a bug in Rushline — run "
                "again with --debug and report the output",
                exitcodes.INTERNAL,
            ) from None

    wrapper.__rushline_boundary__ = True  # type: ignore[attr-defined]
    return wrapper  # type: ignore[return-value]


def _log_details() -> None:
    if _DEBUG:
        log.exception("details")


def write_json(data: Any, out: Path | None, *, overwrite: bool = False) -> None:
    """Write JSON to a file (atomically, never over an existing file unless asked) or to
    stdout when out is None or '-'."""
    text = json.dumps(data, indent=2, ensure_ascii=False, default=str)
    if out is None or str(out) == "-":
        sys.stdout.write(text + "\n")
        return
    from pipeline.fsutil import atomic_write_text

    atomic_write_text(out, text + "\n", overwrite=overwrite)
