"""Bad and awkward inputs for probe and offload tests."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sample_media._ff import BITEXACT_OUT, BT709_FRAMES, FPS, ffmpeg, out

Record = dict[str, Any]

TRUNCATE_FRACTION = 0.4


def _small_mov(path: Path, seconds: float) -> None:
    """A small valid H.264/AAC MOV with the moov atom at the END (ffmpeg's default layout)."""
    ffmpeg(
        [
            "-f", "lavfi", "-i", f"testsrc2=s=640x360:r={FPS}:d={seconds},{BT709_FRAMES}",
            "-f", "lavfi", "-i", f"sine=f=440:r=48000:d={seconds}",
            "-map", "0:v", "-map", "1:a",
            "-c:v", "libx264", "-preset", "superfast", "-crf", "28", "-pix_fmt", "yuv420p",
            "-threads", "2", "-c:a", "aac", "-b:a", "96k",
            "-flags:v", "+bitexact", "-flags:a", "+bitexact",
            *BITEXACT_OUT,
            out(path),
        ],
        what="writing sample clip",
        path=path,
    )  # fmt: skip


def build_misc(root: Path, tmp: Path) -> Record:
    """misc/: a text file named .mov, an empty .mov, a truncated MOV (moov lost) and a valid clip
    whose name starts with '-'. Each record says what a reader must do with it."""
    misc = root / "misc"
    misc.mkdir(parents=True)
    text = misc / "not_a_video.mov"
    text.write_text("This is a text file with a .mov extension, not a movie.\n", encoding="utf-8")
    empty = misc / "empty.mov"
    empty.write_bytes(b"")
    full = tmp / "full.mov"
    _small_mov(full, 3.0)
    data = full.read_bytes()
    # The moov atom is at the end, so the first 40 % holds mdat only: unreadable, not repairable
    # without the index.
    assert data.rfind(b"moov") > len(data) * TRUNCATE_FRACTION
    truncated = misc / "truncated.mov"
    truncated.write_bytes(data[: int(len(data) * TRUNCATE_FRACTION)])
    full.unlink()
    dash = misc / "-leading-dash.mov"
    _small_mov(dash, 2.0)

    def rel(p: Path) -> str:
        return p.relative_to(root).as_posix()

    return {
        "not_a_video": {
            "path": rel(text),
            "kind": "other",
            "valid": False,
            "expect": "error: not a media file",
        },
        "empty": {
            "path": rel(empty),
            "kind": "other",
            "valid": False,
            "size": 0,
            "expect": "error: empty file",
        },
        "truncated": {
            "path": rel(truncated),
            "kind": "video",
            "valid": False,
            "truncated_fraction": TRUNCATE_FRACTION,
            "original_size": len(data),
            "expect": "error: truncated, moov atom missing",
        },
        "leading_dash": {
            "path": rel(dash),
            "kind": "video",
            "valid": True,
            "container": "MPEG-4",
            "container_profile": "QuickTime",
            "duration_s": 2.0,
            "video": {"codec": "AVC", "width": 640, "height": 360, "frame_rate": 25.0},
            "audio": {"codec": "AAC", "channels": 1, "sample_rate": 48000},
            "expect": "ok: a valid clip whose file name starts with '-'",
        },
    }
