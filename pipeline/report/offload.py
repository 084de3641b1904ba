"""The offload report: JSON (the truth: an `OffloadResult`) and an HTML view, with clip metadata
from probe and one thumbnail per clip.

Reports go into every destination that received the roll, under `<roll>/_rushline/reports/`
(ignored by the ASC MHL history), and into an optional extra folder (`--report DIR`).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import logging
import shutil
from pathlib import Path
from typing import Any

from pipeline.fsutil import atomic_write_text
from pipeline.offload import STATE_DIR, FileStatus, OffloadResult
from pipeline.report import render_html

log = logging.getLogger("rushline.offload")

_CLIP_EXT = {".mov", ".mp4", ".mxf", ".mts", ".m2ts", ".avi", ".mkv", ".mpg", ".m4v", ".dv"}


def _is_clip(path: str) -> bool:
    try:
        from pipeline.probe import classify

        return classify(Path(path)).value == "video"
    except ImportError:  # probe not installed in this build: fall back on the extension
        return Path(path).suffix.lower() in _CLIP_EXT


def _clip_summary(path: Path) -> dict[str, Any]:
    """Codec, resolution, fps, timecode and duration of a copied clip (never raises)."""
    try:
        from pipeline.probe import probe_file
    except ImportError as exc:
        return {"error": f"probe unavailable: {exc}"}
    try:
        asset = probe_file(path)
    except Exception as exc:  # a probe failure is a note in the report, never a failed offload
        return {"error": str(exc)}
    v = asset.video[0] if asset.video else None
    return {
        "container": asset.container,
        "codec": v.codec if v else None,
        "codec_profile": v.codec_profile if v else None,
        "width": v.width if v else None,
        "height": v.height if v else None,
        "fps": v.frame_rate if v else None,
        "timecode": asset.start_timecode,
        "duration_s": asset.duration_s,
        "reel": asset.reel,
        "audio_channels": asset.audio_channels,
        "error": asset.error,
    }


def enrich_clips(result: OffloadResult, thumbs_dir: Path, *, thumbnails: bool = True) -> None:
    """Probe every copied clip (from a verified copy, not the card) and make its thumbnail."""
    from pipeline.errors import RushlineError
    from pipeline.thumbnails import make_thumbnail, thumbnail_time

    roll_dirs = {d.root: Path(d.roll_dir) for d in result.destinations}
    for i, rec in enumerate(result.files):
        if not _is_clip(rec.path):
            continue
        good = [o for o in rec.outcomes if o.status != FileStatus.FAILED]
        if not good:
            continue
        copy = roll_dirs[good[0].destination] / rec.path
        rec.clip = _clip_summary(copy)
        if not thumbnails or rec.clip.get("error"):
            continue
        try:
            name = f"{i:05d}.jpg"
            make_thumbnail(copy, thumbs_dir / name, at_s=thumbnail_time(rec.clip.get("duration_s")))
            rec.thumbnail = f"thumbs/{name}"
        except RushlineError as exc:
            rec.clip["thumbnail_error"] = str(exc).splitlines()[0]


def _summary(result: OffloadResult) -> dict[str, Any]:
    files_ok = sum(1 for f in result.files if f.ok)
    return {
        "files": len(result.files),
        "files_ok": files_ok,
        "files_failed": len(result.files) - files_ok,
        "clips": sum(1 for f in result.files if f.clip is not None),
        "notices": len(result.notices),
    }


def publish(
    result: OffloadResult, *, report_dir: Path | None = None, thumbnails: bool = True
) -> list[Path]:
    """Write the JSON and HTML report (and thumbnails) everywhere it belongs; returns the folders.

    The first folder gets the thumbnails made; the others receive copies of them.
    """
    stamp = dt.datetime.now().strftime("%Y%m%d_%H%M%S")
    name = f"offload_{result.roll}_{stamp}"
    folders: list[Path] = []
    per_dest: dict[str, Path] = {}
    for d in result.destinations:
        if d.manifest and Path(d.roll_dir).is_dir():
            f = Path(d.roll_dir) / STATE_DIR / "reports" / name
            folders.append(f)
            per_dest[d.root] = f
    if report_dir is not None:
        folders.append(Path(report_dir) / name)
    if not folders:
        return []
    first = folders[0]
    enrich_clips(result, first / "thumbs", thumbnails=thumbnails)
    for d in result.destinations:
        if d.root in per_dest:
            d.reports = [
                str(per_dest[d.root] / "offload.html"),
                str(per_dest[d.root] / "offload.json"),
            ]
    data = result.model_dump(mode="json")
    text = json.dumps(data, indent=2, ensure_ascii=False)
    written = []
    for folder in folders:
        try:
            folder.mkdir(parents=True, exist_ok=True)
            if folder != first and (first / "thumbs").is_dir():
                shutil.copytree(first / "thumbs", folder / "thumbs", dirs_exist_ok=True)
            atomic_write_text(folder / "offload.json", text + "\n")
            render_html(
                "offload.html.j2",
                folder / "offload.html",
                r=data,
                summary=_summary(result),
                tools=data["tools"],
            )
            written.append(folder)
        except OSError as exc:  # a destination pulled after the copy: the others still get it
            log.warning("could not write the offload report into %s: %s", folder, exc)
            with contextlib.suppress(OSError):
                shutil.rmtree(folder)
    return written
