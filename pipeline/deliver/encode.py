"""Run one encode: ffmpeg through pipeline.tools, progress from `-progress pipe:1` lines.

The output is always a temporary name; the caller renames it after QC. Whatever stops the
encode (ffmpeg failing, a full disk, Ctrl-C) removes the partial file before the error goes up.
"""

from __future__ import annotations

import contextlib
import errno
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from pipeline import tools
from pipeline.errors import ToolError

ProgressSink = Callable[[float], None]  # seconds of output written so far


@dataclass
class EncodeResult:
    cmd: list[str]
    elapsed_s: float
    out_time_s: float


def parse_progress(line: str) -> float | None:
    """Seconds written, from an `out_time_us=` (or `out_time_ms=`, also µs) progress line."""
    key, _, value = line.strip().partition("=")
    if key in ("out_time_us", "out_time_ms"):
        try:
            return max(int(value), 0) / 1_000_000
        except ValueError:
            return None
    return None


def _drain(stream, tail: deque[str]) -> None:  # type: ignore[no-untyped-def]
    for raw in iter(stream.readline, b""):
        tail.append(raw.decode("utf-8", "replace").rstrip())


def run_encode(
    cmd: list[str], out: Path, *, what: str, on_progress: ProgressSink | None = None
) -> EncodeResult:
    """Run the encode; raise ToolError (partial output removed) when ffmpeg fails."""
    started = time.monotonic()
    proc = tools.spawn(cmd, what=what, stdout=True, stderr=True)
    tail: deque[str] = deque(maxlen=40)
    reader = threading.Thread(target=_drain, args=(proc.stderr, tail), daemon=True)
    reader.start()
    done = 0.0
    try:
        assert proc.stdout is not None
        for raw in iter(proc.stdout.readline, b""):
            t = parse_progress(raw.decode("ascii", "replace"))
            if t is not None:
                done = t
                if on_progress is not None:
                    on_progress(t)
        code = tools.end(proc, timeout=60)
        reader.join(timeout=5)
    except BaseException:  # Ctrl-C or a bug: stop ffmpeg, never leave a partial file
        proc.kill()
        tools.end(proc, timeout=10)
        _remove(out)
        raise
    if code != 0:
        _remove(out)
        stderr = "\n".join(tail)
        hint = None
        if "No space left" in stderr or f"Errno {errno.ENOSPC}" in stderr:
            hint = "the disk is full: free space (or choose another --out) and run again"
        raise ToolError(
            f"ffmpeg failed (exit {code}) {what}; nothing was delivered",
            cmd=cmd,
            returncode=code,
            stderr=stderr,
            path=out,
            hint=hint,
        )
    return EncodeResult(cmd=cmd, elapsed_s=round(time.monotonic() - started, 3), out_time_s=done)


def _remove(path: Path) -> None:
    with contextlib.suppress(FileNotFoundError):
        path.unlink()
