"""The archive room's one error type: it carries its own exit code (ArchiveExit)."""

from __future__ import annotations

from pathlib import Path

from pipeline.errors import RushlineError
from pipeline.exitcodes import ArchiveExit


class ArchiveError(RushlineError):
    """A bag could not be made, verified or restored safely (names the bag or file)."""

    def __init__(
        self,
        message: str,
        *,
        exit_code: ArchiveExit,
        path: str | Path | None = None,
        hint: str | None = None,
    ) -> None:
        super().__init__(message, path=path, hint=hint)
        self.exit_code = int(exit_code)
