"""One root exception; every subclass carries a message a user can act on."""

from __future__ import annotations

from pathlib import Path


class RushlineError(Exception):
    """Root of every error Rushline raises on purpose.

    The message is what the user reads: it names the file and says what to do.
    """

    exit_code = 2

    def __init__(self, message: str, *, path: str | Path | None = None, hint: str | None = None):
        self.path = str(path) if path is not None else None
        self.hint = hint
        full = message
        if hint:
            full = f"{message} — {hint}"
        super().__init__(full)


class ToolNotFoundError(RushlineError):
    """An external program (ffmpeg, exiftool...) is not installed or not runnable."""


class ToolError(RushlineError):
    """An external program ran and failed; carries its last stderr lines."""

    def __init__(
        self,
        message: str,
        *,
        cmd: list[str],
        returncode: int,
        stderr: str = "",
        path: str | Path | None = None,
        hint: str | None = None,
    ):
        self.cmd = cmd
        self.returncode = returncode
        self.stderr = stderr
        tail = "\n".join(stderr.strip().splitlines()[-8:])
        if tail:
            message = f"{message}\n{tail}"
        super().__init__(message, path=path, hint=hint)


class MediaError(RushlineError):
    """A media file cannot be read or understood (corrupt, truncated, not media)."""


class ProfileError(RushlineError):
    """A profile or template is missing or invalid (names file, line and key)."""


class OffloadError(RushlineError):
    """An offload could not complete safely."""


class VerifyError(RushlineError):
    """A copy does not match its manifest."""


class RightsError(RushlineError):
    """Rights metadata could not be read, validated or written."""


class UserInputError(RushlineError):
    """Bad arguments or paths given by the user."""
