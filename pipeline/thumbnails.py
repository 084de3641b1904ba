"""One small JPEG per clip for reports: ffmpeg, seeking before the input (fast), 320 px wide."""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

from pipeline.errors import MediaError, ToolError
from pipeline.fsutil import fsync_dir
from pipeline.tools import ffmpeg_exe, ffmpeg_input, run


def thumbnail_time(duration_s: float | None) -> float:
    """Where to grab the frame: 10 % in (past slates and black), never past 5 s for long clips."""
    if not duration_s or duration_s <= 0:
        return 0.0
    return round(min(duration_s * 0.1, 5.0), 3)


def make_thumbnail(
    clip: str | os.PathLike[str],
    dest: str | os.PathLike[str],
    *,
    at_s: float = 0.0,
    width: int = 320,
) -> Path:
    """Write a JPEG thumbnail of `clip` at `at_s` seconds to `dest` (temp name, then rename).

    `-ss` before `-i` seeks on the demuxer (a keyframe near `at_s`): fast on long clips, and a
    thumbnail does not need frame accuracy. Raises MediaError when no frame can be decoded.
    """
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{dest.stem}.", suffix=".jpg", dir=dest.parent)
    os.close(fd)
    cmd = [
        ffmpeg_exe(), "-hide_banner", "-nostdin", "-loglevel", "error", "-y",
        "-ss", f"{max(at_s, 0.0):.3f}", "-i", ffmpeg_input(clip),
        "-frames:v", "1", "-vf", f"scale={width}:-2", "-q:v", "4", "-f", "image2", tmp,
    ]  # fmt: skip
    try:
        try:
            run(cmd, what="making a thumbnail of", path=clip, timeout=60)
        except ToolError as exc:
            raise MediaError(
                f"no thumbnail for {clip}: ffmpeg could not decode a frame",
                path=clip,
                hint=str(exc).splitlines()[-1] if str(exc) else None,
            ) from exc
        if os.path.getsize(tmp) == 0:
            raise MediaError(f"no thumbnail for {clip}: no video frame at {at_s:.2f} s", path=clip)
        os.replace(tmp, dest)
        fsync_dir(dest.parent)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
    return dest
