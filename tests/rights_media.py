"""Small real media for the rights tests, made with ffmpeg (no mocks of media tools)."""

from __future__ import annotations

import hashlib
import json
import shlex
from pathlib import Path
from typing import Any

from pipeline.tools import exiftool_exe, ffmpeg_exe, run

SHARED_RAW = Path(__file__).resolve().parents[2] / "shared" / "media" / "raw"


def ffmpeg(*args: str) -> None:
    run([ffmpeg_exe(), "-hide_banner", "-v", "error", "-y", *args], what="making test media")


def make_jpeg(path: Path) -> Path:
    ffmpeg("-f", "lavfi", "-i", "testsrc=s=96x64", "-frames:v", "1", str(path))
    return path


def make_tiff16(path: Path) -> Path:
    ffmpeg(
        "-f", "lavfi", "-i", "testsrc=s=96x64", "-frames:v", "1", "-pix_fmt", "rgb48le", str(path)
    )
    return path


def make_video(path: Path) -> Path:
    ffmpeg(
        "-f",
        "lavfi",
        "-i",
        "testsrc=s=96x64:d=0.2",
        "-f",
        "lavfi",
        "-i",
        "sine=d=0.2",
        "-shortest",
        "-pix_fmt",
        "yuv420p",
        str(path),
    )
    return path


def make_bwf(path: Path) -> Path:
    ffmpeg(
        "-f",
        "lavfi",
        "-i",
        "sine=d=0.3:sample_rate=48000",
        "-c:a",
        "pcm_s24le",
        "-write_bext",
        "1",
        "-metadata",
        "originator_reference=FRXYZ0123456789",
        "-metadata",
        "time_reference=172800000",
        str(path),
    )
    return path


def make_mxf(path: Path) -> Path:
    ffmpeg("-f", "lavfi", "-i", "testsrc=s=96x64:d=0.2", "-c:v", "mpeg2video", str(path))
    return path


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def exiftool_read(path: Path) -> dict[str, Any]:
    """The independent reader: a fresh ExifTool process, UTF-8, every group."""
    out = run(
        [
            exiftool_exe(),
            "-j",
            "-G1",
            "-a",
            "-struct",
            "-charset",
            "UTF8",
            "-charset",
            "iptc=UTF8",
            str(path),
        ],
        what="reading back",
        path=path,
    ).stdout
    return json.loads(out)[0]


# A user-defined-tags config that teaches ExifTool the IPTC 2025.1 AI fields, as ExifTool 13
# knows them: with it, one machine runs the "older" and the "newer" ExifTool behaviour.
_AI_FIELDS_CONFIG = """%Image::ExifTool::UserDefined = (
    'Image::ExifTool::XMP::iptcExt' => {
        AISystemUsed => { },
        AISystemVersionUsed => { },
        AIPromptInformation => { },
        AIPromptWriterName => { },
    },
);
1;
"""


def exiftool_knowing_ai_fields(folder: Path) -> Path:
    """An `exiftool` wrapper that knows the IPTC 2025.1 AI fields (-config must come first)."""
    folder.mkdir(parents=True, exist_ok=True)
    config = folder / "iptc2025.config"
    config.write_text(_AI_FIELDS_CONFIG, encoding="utf-8")
    wrapper = folder / "exiftool"
    wrapper.write_text(
        f'#!/bin/sh\nexec {shlex.quote(exiftool_exe())} -config {shlex.quote(str(config))} "$@"\n',
        encoding="utf-8",
    )
    wrapper.chmod(0o755)
    return wrapper


def exiftool_knows(exe: str | Path, tag: str) -> bool:
    """Whether this ExifTool can write `tag` (e.g. 'AISystemUsed') in XMP-iptcExt."""
    out = run([str(exe), "-list", "-XMP-iptcExt:all"], what="listing the tags of").stdout
    return tag in out.decode().split()
