"""Finding and running external programs: one place builds argument lists and runs them.

Never a shell string. The exact command is logged with shlex.join, and a failure becomes a
ToolError carrying the tool's last stderr lines.
"""

from __future__ import annotations

import functools
import logging
import os
import re
import shlex
import shutil
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from pipeline.errors import ToolError, ToolNotFoundError

log = logging.getLogger("rushline.tools")

INSTALL_HINTS = {
    "ffmpeg": "reinstall Rushline (`pip install -e .`, it brings the imageio-ffmpeg wheel), "
    "or set RUSHLINE_FFMPEG=/path/to/ffmpeg, or `apt-get install ffmpeg`",
    "exiftool": "install ExifTool: `apt-get install libimage-exiftool-perl` (Debian/Ubuntu), "
    "or set RUSHLINE_EXIFTOOL=/path/to/exiftool",
}


@functools.cache
def ffmpeg_exe() -> str:
    """Path of the ffmpeg binary: $RUSHLINE_FFMPEG, then the pinned imageio-ffmpeg wheel, then PATH.

    The wheel comes first so every machine runs the same, fully-featured build; the variable
    lets a facility point at its own build.
    """
    env = os.environ.get("RUSHLINE_FFMPEG")
    if env:
        if not (Path(env).is_file() and os.access(env, os.X_OK)):
            raise ToolNotFoundError(
                f"RUSHLINE_FFMPEG points to {env}, which is not an executable file",
                hint=INSTALL_HINTS["ffmpeg"],
            )
        return env
    try:
        import imageio_ffmpeg

        exe = imageio_ffmpeg.get_ffmpeg_exe()
        if exe and Path(exe).is_file():
            return exe
    except Exception as exc:  # the wheel may be absent or lack a binary for this platform
        log.debug("imageio-ffmpeg has no usable ffmpeg: %s", exc)
    found = shutil.which("ffmpeg")
    if found:
        return found
    raise ToolNotFoundError("ffmpeg was not found", hint=INSTALL_HINTS["ffmpeg"])


@functools.cache
def exiftool_exe() -> str:
    """Path of ExifTool: $RUSHLINE_EXIFTOOL, then PATH."""
    env = os.environ.get("RUSHLINE_EXIFTOOL")
    if env:
        if not Path(env).is_file():
            raise ToolNotFoundError(
                f"RUSHLINE_EXIFTOOL points to {env}, which does not exist",
                hint=INSTALL_HINTS["exiftool"],
            )
        return env
    found = shutil.which("exiftool")
    if found:
        return found
    raise ToolNotFoundError(
        "ExifTool is not installed; this feature needs it", hint=INSTALL_HINTS["exiftool"]
    )


def has_exiftool() -> bool:
    try:
        exiftool_exe()
        return True
    except ToolNotFoundError:
        return False


# A started program whose pipes the caller reads (see spawn()).
Process = subprocess.Popen[bytes]


@dataclass(frozen=True)
class ToolResult:
    cmd: list[str]
    returncode: int
    stdout: bytes
    stderr: str


def run(
    cmd: Sequence[str | os.PathLike[str]],
    *,
    what: str,
    path: str | os.PathLike[str] | None = None,
    check: bool = True,
    input: bytes | None = None,
    timeout: float | None = None,
    cwd: str | os.PathLike[str] | None = None,
) -> ToolResult:
    """Run a program from an argument list and capture its output.

    `what` is a short description for the error message ("decoding the audio of").
    On a non-zero exit with check=True, raises ToolError naming `path`.
    """
    args = [os.fspath(a) for a in cmd]
    log.info("run: %s", shlex.join(args))
    try:
        proc = subprocess.run(
            args, input=input, capture_output=True, timeout=timeout, cwd=cwd, check=False
        )
    except FileNotFoundError as exc:
        raise ToolNotFoundError(f"cannot start {args[0]}: {exc.strerror}") from exc
    except subprocess.TimeoutExpired as exc:
        raise ToolError(
            f"{Path(args[0]).name} timed out after {timeout:.0f} s {what} {path or ''}".rstrip(),
            cmd=args,
            returncode=-1,
            stderr=(exc.stderr or b"").decode("utf-8", "replace"),
            path=path,
        ) from exc
    stderr = proc.stderr.decode("utf-8", "replace")
    if check and proc.returncode != 0:
        target = f" {path}" if path is not None else ""
        raise ToolError(
            f"{Path(args[0]).name} failed (exit {proc.returncode}) {what}{target}",
            cmd=args,
            returncode=proc.returncode,
            stderr=stderr,
            path=path,
        )
    return ToolResult(args, proc.returncode, proc.stdout, stderr)


def spawn(
    cmd: Sequence[str | os.PathLike[str]],
    *,
    what: str,
    stdin: bool = False,
    stdout: bool = True,
    stderr: bool = True,
    pass_fds: Sequence[int] = (),
) -> Process:
    """Start a program for streaming (a decode pass, a long-lived ExifTool session).

    stdin/stdout/stderr say which streams are pipes (the others go to /dev/null). The caller
    reads the pipes and must end the process with `end()`. `what` names the job in the log.
    """
    args = [os.fspath(a) for a in cmd]
    log.info("start (%s): %s", what, shlex.join(args))

    def pipe(wanted: bool) -> int:
        return subprocess.PIPE if wanted else subprocess.DEVNULL

    try:
        return subprocess.Popen(
            args,
            stdin=pipe(stdin),
            stdout=pipe(stdout),
            stderr=pipe(stderr),
            pass_fds=tuple(pass_fds),
        )
    except OSError as exc:
        raise ToolNotFoundError(f"cannot start {args[0]}: {exc.strerror}") from exc


def end(proc: Process, *, timeout: float = 10.0) -> int:
    """Wait for a started program to exit; kill it when it has not within `timeout` seconds."""
    try:
        return proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        return proc.wait()


def safe_input(path: str | os.PathLike[str]) -> str:
    """A path that a tool will never mistake for an option (names starting with '-')."""
    p = os.fspath(path)
    if p.startswith("-"):
        return os.path.join(".", p)
    return p


def ffmpeg_input(path: str | os.PathLike[str]) -> str:
    """An ffmpeg input spec: `file:` protocol so names with ':' or leading '-' are literal."""
    return "file:" + os.path.abspath(os.fspath(path))


@functools.cache
def ffmpeg_version() -> str:
    out = run([ffmpeg_exe(), "-hide_banner", "-version"], what="asking the version of").stdout
    first = out.decode("utf-8", "replace").splitlines()[0] if out else ""
    m = re.match(r"ffmpeg version (\S+)", first)
    return m.group(1) if m else first


@functools.cache
def exiftool_version() -> str | None:
    if not has_exiftool():
        return None
    return run([exiftool_exe(), "-ver"], what="asking the version of").stdout.decode().strip()


@functools.cache
def mediainfo_version() -> str | None:
    try:
        from pymediainfo import MediaInfo

        return str(MediaInfo._get_library()[2])
    except Exception:
        return None


def tool_versions() -> dict[str, str | None]:
    """Versions of every tool and library a report depends on."""
    import importlib.metadata as md
    import platform

    import pipeline

    def pkg(name: str) -> str | None:
        try:
            return md.version(name)
        except md.PackageNotFoundError:
            return None

    versions: dict[str, str | None] = {
        "rushline": pipeline.__version__,
        "python": platform.python_version(),
        "ffmpeg": None,
        "exiftool": exiftool_version(),
        "mediainfo": mediainfo_version(),
    }
    try:
        versions["ffmpeg"] = ffmpeg_version()
    except Exception as exc:  # a report still records that ffmpeg was missing
        versions["ffmpeg"] = f"unavailable: {exc}"
    for name in ("pymediainfo", "rawpy", "exifread", "numpy", "xxhash", "pyexiv2", "prefect"):
        versions[name] = pkg(name)
    return versions
