"""The offload report: JSON (the truth: an `OffloadResult`) and an HTML view, with clip metadata
from probe and one thumbnail per clip.

Reports go into every destination that received the roll, under `<roll>/_rushline/reports/`
(ignored by the ASC MHL history), and into an optional extra folder (`--report DIR`).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import errno
import json
import logging
import shutil
import tempfile
from pathlib import Path
from typing import Any

from pipeline.fsutil import atomic_write_text
from pipeline.offload import (
    STATE_DIR,
    DestinationResult,
    Failure,
    FileStatus,
    Notice,
    OffloadResult,
)
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
        except (RushlineError, OSError) as exc:
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


def _report_folders(
    result: OffloadResult, name: str
) -> list[tuple[DestinationResult | None, Path]]:
    """Where the report goes: each destination that received the roll, then `--report`."""
    out: list[tuple[DestinationResult | None, Path]] = [
        (d, Path(d.roll_dir) / STATE_DIR / "reports" / name)
        for d in result.destinations
        if d.manifest
    ]
    return out


def _report_failed(
    result: OffloadResult, dest: DestinationResult | None, folder: Path, exc: OSError
) -> None:
    """A report that could not be written is a failure of its destination, with its class."""
    gone = dest is not None and not Path(dest.roll_dir).is_dir()
    if gone or exc.errno in (errno.ENOENT, errno.ENODEV, errno.ENXIO, errno.EIO, errno.ESTALE):
        failure = Failure.DEST_GONE
        what = f"destination {dest.root if dest else folder} disappeared ({exc.strerror})"
    elif exc.errno in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG):
        failure, what = Failure.DEST_WRITE, f"{folder} is full ({exc.strerror})"
    else:
        failure, what = Failure.DEST_WRITE, f"cannot write {folder}: {exc.strerror or exc}"
    message = f"{what} while writing the offload report; the copies themselves are verified"
    log.warning("%s", message)
    if dest is not None:
        dest.fail(failure, message)
    else:
        result.notices.append(Notice(path=str(folder), kind="report", message=message))
    result.settle_exit_code([failure])


def _write_report(
    result: OffloadResult, dest: DestinationResult | None, folder: Path, thumbs: Path,
    data: dict[str, Any],
) -> None:  # fmt: skip
    if dest is not None:
        # the roll folder must still be there: never recreate a pulled drive's path
        (Path(dest.roll_dir) / STATE_DIR / "reports").mkdir(exist_ok=True)
        folder.mkdir(exist_ok=True)
    else:
        folder.mkdir(parents=True, exist_ok=True)
    if any(thumbs.iterdir()):
        shutil.copytree(thumbs, folder / "thumbs", dirs_exist_ok=True)
    text = json.dumps(data, indent=2, ensure_ascii=False)
    atomic_write_text(folder / "offload.json", text + "\n", overwrite=True)
    render_html(
        "offload.html.j2",
        folder / "offload.html",
        overwrite=True,
        r=data,
        summary=_summary(result),
        tools=data["tools"],
    )


def publish(
    result: OffloadResult, *, report_dir: Path | None = None, thumbnails: bool = True
) -> list[Path]:
    """Write the JSON and HTML report (and thumbnails) everywhere it belongs; returns the folders
    written. A folder that cannot be written (drive pulled, disk full) makes its destination
    fail with its class and exit code (the result is updated); nothing is half-written there.
    """
    stamp = dt.datetime.now().strftime("%Y%m%d_%H%M%S")
    name = f"offload_{result.roll}_{stamp}"
    targets = _report_folders(result, name)
    if report_dir is not None:
        targets.append((None, Path(report_dir) / name))
    if not targets:
        return []
    written: list[Path] = []
    with tempfile.TemporaryDirectory(prefix="rushline-thumbs-") as tmp:
        thumbs = Path(tmp)
        try:
            enrich_clips(result, thumbs, thumbnails=thumbnails)
        except OSError as exc:  # a probe or thumbnail is never worth failing the offload
            log.warning("could not probe the copied clips: %s", exc)
        for dest, folder in targets:
            if dest is not None:
                dest.reports = [str(folder / "offload.html"), str(folder / "offload.json")]
        for dest, folder in targets:
            try:
                _write_report(result, dest, folder, thumbs, result.model_dump(mode="json"))
                written.append(folder)
            except OSError as exc:
                if dest is not None:
                    dest.reports = []
                with contextlib.suppress(OSError):
                    shutil.rmtree(folder)
                _report_failed(result, dest, folder, exc)
    return written
